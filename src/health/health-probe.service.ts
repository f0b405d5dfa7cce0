import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { Coalescer } from '../common/utils/coalescer';
import { REDIS_CLIENT } from '../queues/redis.provider';
import { TaskQueueService } from '../queues/task-queue.service';
import { TASK_TYPES, TaskType } from '../task-types/task-types';
import { DatabaseHealthRepository } from './database-health.repository';

export interface ComponentHealth {
  status: 'healthy' | 'unhealthy';
  latency_ms?: number;
  error?: string;
  [key: string]: unknown;
}

const PROBE_TIMEOUT_MS = 3000;

/**
 * Real probes of the service's dependencies, shared by `/health` and the `health_check`
 * task type: a round trip to PostgreSQL, to Redis (with its key count and waiting jobs),
 * and to every task queue. Each probe is bounded so a hung dependency reads as unhealthy.
 */
@Injectable()
export class HealthProbeService {
  /**
   * Concurrent database probes share a round trip: a probe joins the next `SELECT 1` to
   * leave, never one already in flight, so every answer comes from a round trip that began
   * after it was asked. A thousand health_check tasks at once then cost PostgreSQL a few
   * statements instead of a thousand.
   */
  private readonly databaseRoundTrips = new Coalescer<null, null>(
    async (probes) => {
      await this.databaseHealth.ping();
      return probes.map(() => null);
    },
    { maxBatch: 10_000, maxInFlight: 1 },
  );

  constructor(
    private readonly databaseHealth: DatabaseHealthRepository,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly queues: TaskQueueService,
  ) {}

  database(): Promise<ComponentHealth> {
    return timed(async () => {
      await this.databaseRoundTrips.submit(null);
      return {};
    });
  }

  redisServer(): Promise<ComponentHealth> {
    return timed(async () => {
      await this.redis.ping();
      return { size: await this.queues.totalWaiting(), keys: await this.redis.dbsize() };
    });
  }

  queueSystem(): Promise<ComponentHealth> {
    return timed(async () => {
      const counts = await Promise.all(TASK_TYPES.map(async (type) => [type, await this.queues.counts(type)] as const));
      const queues = Object.fromEntries(
        counts.map(([type, c]) => [
          type,
          {
            waiting: c.waiting + c.prioritized,
            delayed: c.delayed,
            active: c.active,
            failed: c.failed,
            paused: c.paused > 0,
          },
        ]),
      ) as Record<TaskType, unknown>;
      return { queues };
    });
  }
}

async function timed(probe: () => Promise<Record<string, unknown>>): Promise<ComponentHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const extra = await Promise.race([
      probe(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`));
        }, PROBE_TIMEOUT_MS);
      }),
    ]);
    return { status: 'healthy', latency_ms: Math.round((performance.now() - started) * 100) / 100, ...extra };
  } catch (error) {
    return { status: 'unhealthy', error: summarize(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** A one-line reason without connection strings or stack traces. */
function summarize(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string })?.code;
  const firstLine = message.split('\n').find((line) => line.trim()) ?? 'unreachable';
  return (code && !firstLine.includes(code) ? `${code}: ${firstLine}` : firstLine)
    .replace(/\w+:\/\/\S+/g, '<url>')
    .slice(0, 200);
}
