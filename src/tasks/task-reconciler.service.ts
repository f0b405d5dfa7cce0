import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import type { AllConfig } from '../config/app.config';
import { REDIS_CLIENT, redisKeys } from '../queues/redis.provider';
import { TaskQueueService } from '../queues/task-queue.service';
import { WorkerDirectoryService } from '../queues/worker-directory.service';
import { TaskQueryRepository } from '../task-engine/task-query.repository';
import { TaskStateService } from '../task-engine/task-state.service';
import type { TaskType } from '../task-types/task-types';

const BATCH = 500;
/** A task younger than this may still be between its INSERT and its dispatch. */
const SETTLE_MS = 5000;

/**
 * PostgreSQL is the truth and Redis can be rebuilt from it: at start-up and then
 * periodically, one instance (holding a Redis lock) finds queued tasks that have no live
 * BullMQ job — Redis was flushed or down at create time, or a finished job still held the
 * id — and dispatches them again; and it recovers processing tasks whose worker and job
 * are both gone. Dispatch is idempotent (job id = task id), so repeating it is harmless.
 * State changes go through the task engine; this class only finds what needs one.
 */
@Injectable()
export class TaskReconcilerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TaskReconcilerService.name);
  private readonly lockKey: string;
  private readonly intervalMs: number;
  private readonly staleAfterMs: number;
  /** Tasks external workers lease: never given a BullMQ job, recovered by their lease's expiry instead. */
  private readonly externalTypes: TaskType[];
  private readonly owner = randomUUID();
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly tasks: TaskQueryRepository,
    private readonly engine: TaskStateService,
    private readonly queue: TaskQueueService,
    private readonly workers: WorkerDirectoryService,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    config: ConfigService<AllConfig, true>,
  ) {
    const queueConfig = config.getOrThrow('queue', { infer: true });
    this.lockKey = redisKeys(queueConfig.prefix).reconcileLock;
    this.intervalMs = queueConfig.reconcileIntervalMs;
    // Past two lock periods a live worker would have renewed its job's lock or finished.
    this.staleAfterMs = Math.max(2 * queueConfig.lockDurationMs, 10_000);
    this.externalTypes = queueConfig.externalTaskTypes;
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
        return (await this.redispatchOrphans()) + (await this.recoverStaleProcessing());
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

  /**
   * Processing tasks nobody is working on: a parent whose last child update was lost is
   * re-evaluated; a task whose job is gone (Redis flushed) and that no live worker lists as
   * running goes back to the queue. A task with a live job is BullMQ's to recover (stall
   * detection), so it is left alone.
   */
  private async recoverStaleProcessing(): Promise<number> {
    let recovered = 0;
    const olderThan = new Date(Date.now() - this.staleAfterMs);
    const stale = await this.tasks.findStaleProcessing(olderThan, BATCH, this.externalTypes);
    if (stale.length === 0) return 0;
    const running = new Set((await this.workers.liveWorkers()).flatMap((w) => w.current_task_ids));
    for (const task of stale) {
      if (task.hasChildren) {
        await this.engine.childSettled(task.id);
        continue;
      }
      if (running.has(task.id) || (await this.queue.jobState(task.taskType, task.id)) === 'live') continue;
      if (await this.engine.recoverOrphan(task)) recovered++;
    }
    if (recovered > 0) this.logger.warn(`Requeued ${recovered} processing task(s) whose worker and job were lost`);
    return recovered;
  }

  private async redispatchOrphans(): Promise<number> {
    let dispatched = 0;
    let cursor = new Date(Date.now() - SETTLE_MS);
    for (;;) {
      const candidates = await this.tasks.findDueQueued(cursor, BATCH, this.externalTypes);
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
