import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Gauge } from 'prom-client';
import { register } from 'prom-client';
import type { RedisClient } from '../queues/redis-connection';
import { REDIS_CLIENT } from '../queues/redis.provider';
import { TaskQueueService } from '../queues/task-queue.service';
import { WorkerDirectoryService } from '../queues/worker-directory.service';
import { TASK_STATUSES, TASK_TYPES } from '../task-types/task-types';
import { METRIC, SLOT_STATES, WORKER_STATUSES } from './metrics';
import { TaskCountsRepository } from './task-counts.repository';

/** A scrape must answer even while a dependency hangs: each read gets this long. */
const READ_TIMEOUT_MS = 2000;

/**
 * prom-client's defaults include three gauges named `*_total` (nodejs_active_handles_total,
 * …requests_total, …resources_total), which Prometheus reserves for counters and
 * `promtool check metrics` rejects. Their per-type gauges (nodejs_active_handles{type}, …)
 * stay, and sum to the same figures.
 */
const MISNAMED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * The gauges read when Prometheus scrapes, so they are never stale: tasks per type and
 * status from PostgreSQL, jobs per queue from BullMQ, live workers and their slots from the
 * worker directory, and whether Redis answers. A read that fails leaves that gauge as it
 * was (Redis down shows as task_manager_redis_up 0); the scrape itself never fails.
 */
@Injectable()
export class ScrapeTimeCollector implements OnModuleInit {
  private readonly logger = new Logger(ScrapeTimeCollector.name);

  constructor(
    @InjectMetric(METRIC.tasks) private readonly tasks: Gauge,
    @InjectMetric(METRIC.queueDepth) private readonly depth: Gauge,
    @InjectMetric(METRIC.workers) private readonly workers: Gauge,
    @InjectMetric(METRIC.workerSlots) private readonly slots: Gauge,
    @InjectMetric(METRIC.redisUp) private readonly redisUp: Gauge,
    private readonly counts: TaskCountsRepository,
    private readonly queues: TaskQueueService,
    private readonly directory: WorkerDirectoryService,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
  ) {}

  onModuleInit(): void {
    for (const name of MISNAMED_DEFAULT_METRICS) register.removeSingleMetric(name);
    for (const task_type of TASK_TYPES) for (const status of TASK_STATUSES) this.tasks.set({ task_type, status }, 0);
    for (const status of WORKER_STATUSES) this.workers.set({ status }, 0);
    for (const state of SLOT_STATES) this.slots.set({ state }, 0);
    this.redisUp.set(0);
    // prom-client awaits a metric's `collect` before serialising it.
    const warn = (what: string) => (error: Error) => {
      this.logger.warn(`${what} unavailable: ${error.message}`);
    };
    this.collectWith(this.tasks, () => this.collectTasks(), warn('Task counts'));
    this.collectWith(this.depth, () => this.collectQueueDepth(), warn('Queue depth'));
    this.collectWith(this.workers, () => this.collectWorkers(), warn('Worker directory'));
    this.collectWith(
      this.redisUp,
      () => this.collectRedisUp(),
      () => {
        this.redisUp.set(0);
      },
    );
  }

  private async collectTasks(): Promise<void> {
    const totals = new Map<string, number>();
    for (const row of await this.counts.countByKey()) {
      const key = `${row.taskType}\n${row.status}`;
      totals.set(key, (totals.get(key) ?? 0) + row.count);
    }
    for (const task_type of TASK_TYPES) {
      for (const status of TASK_STATUSES)
        this.tasks.set({ task_type, status }, totals.get(`${task_type}\n${status}`) ?? 0);
    }
  }

  private async collectQueueDepth(): Promise<void> {
    const all = await Promise.all(TASK_TYPES.map(async (type) => [type, await this.queues.counts(type)] as const));
    for (const [queue, counts] of all) {
      for (const [state, value] of Object.entries(counts) as [string, number][])
        this.depth.set({ queue, state }, value);
    }
  }

  /** Worker processes of every role publish here, so any process reports them all. */
  private async collectWorkers(): Promise<void> {
    const live = await this.directory.liveWorkers();
    for (const status of WORKER_STATUSES) this.workers.set({ status }, live.filter((w) => w.status === status).length);
    const busy = live.reduce((sum, w) => sum + w.current_task_ids.length, 0);
    const total = live.reduce((sum, w) => sum + w.concurrency, 0);
    this.slots.set({ state: 'busy' }, busy);
    this.slots.set({ state: 'idle' }, Math.max(0, total - busy));
  }

  private async collectRedisUp(): Promise<void> {
    const up = this.redis.status === 'ready' && (await this.redis.ping().catch(() => null)) === 'PONG';
    this.redisUp.set(up ? 1 : 0);
  }

  private collectWith(gauge: Gauge, read: () => Promise<void>, onFailure: (error: Error) => void): void {
    (gauge as unknown as { collect: () => Promise<void> }).collect = async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          read(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              reject(new Error(`no answer within ${READ_TIMEOUT_MS} ms`));
            }, READ_TIMEOUT_MS);
          }),
        ]);
      } catch (error) {
        onFailure(error as Error);
      } finally {
        clearTimeout(timer);
      }
    };
  }
}
