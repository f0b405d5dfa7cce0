import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import type { AllConfig } from '../config/app.config';
import { REDIS_CLIENT, redisKeys } from '../queues/redis.provider';
import { TaskQueueService } from '../queues/task-queue.service';
import { TASK_TYPES } from '../task-types/task-types';
import { IdempotencyKeyRepository } from './idempotency-key.repository';
import { TaskRetentionRepository } from './task-retention.repository';

/** Finished jobs Redis keeps at most this long; PostgreSQL has their history. */
const FINISHED_JOB_GRACE_MS = 3600 * 1000;

/**
 * Keeps storage bounded: on every RETENTION_INTERVAL_MS one instance (under a Redis lock)
 * deletes finished tasks older than TASK_RETENTION_DAYS in batches, expired idempotency
 * keys, and finished BullMQ jobs older than an hour, so Redis stays small however long the
 * service runs.
 */
@Injectable()
export class TaskRetentionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TaskRetentionService.name);
  private readonly owner = randomUUID();
  private readonly lockKey: string;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly tasks: TaskRetentionRepository,
    private readonly idempotencyKeys: IdempotencyKeyRepository,
    private readonly queue: TaskQueueService,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly config: ConfigService<AllConfig, true>,
  ) {
    this.lockKey = redisKeys(config.getOrThrow('queue.prefix', { infer: true })).retentionLock;
  }

  onApplicationBootstrap(): void {
    const { intervalMs } = this.config.getOrThrow('retention', { infer: true });
    this.timer = setInterval(() => void this.sweep(), intervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One pass; returns what was removed (nothing when another instance holds the lock). */
  async sweep(): Promise<{ tasks: number; idempotencyKeys: number; jobs: number }> {
    const removed = { tasks: 0, idempotencyKeys: 0, jobs: 0 };
    const { intervalMs, taskRetentionDays } = this.config.getOrThrow('retention', { infer: true });
    try {
      if ((await this.redis.set(this.lockKey, this.owner, 'PX', intervalMs, 'NX')) !== 'OK') return removed;
      if (taskRetentionDays > 0)
        removed.tasks = await this.tasks.deleteFinishedBefore(new Date(Date.now() - taskRetentionDays * 86400 * 1000));
      removed.idempotencyKeys = await this.idempotencyKeys.deleteExpired(new Date());
      for (const type of TASK_TYPES) {
        for (const state of ['completed', 'failed'] as const) {
          removed.jobs += (await this.queue.queue(type).clean(FINISHED_JOB_GRACE_MS, 10000, state)).length;
        }
      }
      if (removed.tasks + removed.idempotencyKeys + removed.jobs > 0)
        this.logger.log(`Retention removed ${JSON.stringify(removed)}`);
    } catch (error) {
      this.logger.warn(`Retention pass skipped: ${(error as Error).message}`);
    }
    return removed;
  }
}
