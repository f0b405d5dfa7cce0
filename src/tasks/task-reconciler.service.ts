import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import type { AllConfig } from '../config/app.config';
import { REDIS_CLIENT, redisKeys } from '../queues/redis.provider';
import { TaskQueueService } from '../queues/task-queue.service';
import { TasksRepository } from './tasks.repository';

const BATCH = 500;
/** A task younger than this may still be between its INSERT and its dispatch. */
const SETTLE_MS = 5000;

/**
 * PostgreSQL is the truth and Redis can be rebuilt from it: at start-up and then
 * periodically, one instance (holding a Redis lock) finds queued tasks that have no live
 * BullMQ job — Redis was flushed or down at create time, or a finished job still held the
 * id — and dispatches them again. Dispatch is idempotent (job id = task id), so repeating
 * it is harmless.
 */
@Injectable()
export class TaskReconcilerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TaskReconcilerService.name);
  private readonly lockKey: string;
  private readonly intervalMs: number;
  private readonly owner = randomUUID();
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly tasks: TasksRepository,
    private readonly queue: TaskQueueService,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    config: ConfigService<AllConfig, true>,
  ) {
    const queueConfig = config.getOrThrow('queue', { infer: true });
    this.lockKey = redisKeys(queueConfig.prefix).reconcileLock;
    this.intervalMs = queueConfig.reconcileIntervalMs;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.reconcile(), this.intervalMs);
    this.timer.unref();
    setTimeout(() => void this.reconcile(), 1000).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One pass; returns how many tasks were dispatched again (0 when another instance holds the lock). */
  async reconcile(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    try {
      const locked = await this.redis.set(this.lockKey, this.owner, 'PX', this.intervalMs * 2, 'NX');
      if (locked !== 'OK') return 0;
      try {
        return await this.redispatchOrphans();
      } finally {
        // Release only our own lock.
        await this.redis.eval(
          "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end",
          1,
          this.lockKey,
          this.owner,
        );
      }
    } catch (error) {
      this.logger.warn(`Reconcile pass skipped: ${(error as Error).message}`);
      return 0;
    } finally {
      this.running = false;
    }
  }

  private async redispatchOrphans(): Promise<number> {
    let dispatched = 0;
    let cursor = new Date(Date.now() - SETTLE_MS);
    for (;;) {
      const candidates = await this.tasks.findDueQueued(cursor, BATCH);
      for (const task of candidates) {
        const state = await this.queue.jobState(task.taskType, task.id);
        if (state === 'live') continue;
        if (state === 'finished') await this.queue.removeFinishedJob(task.taskType, task.id);
        await this.queue.dispatch(task);
        dispatched++;
      }
      if (candidates.length < BATCH) break;
      cursor = candidates[candidates.length - 1].updatedAt;
    }
    if (dispatched > 0) this.logger.log(`Re-dispatched ${dispatched} queued task(s) that had no job in Redis`);
    return dispatched;
  }
}
