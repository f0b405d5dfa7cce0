import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Gauge } from 'prom-client';
import { TaskQueueService } from '../queues/task-queue.service';
import { TASK_TYPES } from '../queues/task-types';
import { METRIC } from './metrics';

/** Reads queue depths from BullMQ when Prometheus scrapes, so the gauge is never stale. */
@Injectable()
export class QueueDepthCollector implements OnModuleInit {
  private readonly logger = new Logger(QueueDepthCollector.name);

  constructor(
    @InjectMetric(METRIC.queueDepth) private readonly depth: Gauge<string>,
    private readonly queues: TaskQueueService,
  ) {}

  onModuleInit(): void {
    const { depth, queues, logger } = this;
    // prom-client awaits `collect` before serialising the gauge.
    (depth as unknown as { collect: () => Promise<void> }).collect = async () => {
      try {
        const all = await Promise.all(TASK_TYPES.map(async (type) => [type, await queues.counts(type)] as const));
        for (const [queue, counts] of all) {
          for (const [state, value] of Object.entries(counts)) depth.set({ queue, state }, value);
        }
      } catch (error) {
        logger.warn(`Queue depth unavailable: ${(error as Error).message}`);
      }
    };
  }
}
