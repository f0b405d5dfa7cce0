import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JobsOptions, Queue } from 'bullmq';
import type Redis from 'ioredis';
import { ServiceUnavailableError } from '../common/errors/domain.error';
import { Coalescer } from '../common/utils/coalescer';
import type { AllConfig } from '../config/app.config';
import {
  priorityBand,
  TASK_PRIORITIES,
  TASK_TYPES,
  TaskJobData,
  TaskPriority,
  TaskType,
} from '../task-types/task-types';
import { ExternalQueueRepository } from './external-queue.repository';
import { KbFairTags } from './kb-fair-tags';
import { REDIS_CLIENT, redisKeys } from './redis.provider';
import { TASK_QUEUES, type TaskQueues } from './task-queues.provider';

const REDIS_TIMEOUT_MS = 2000;
/** A prioritized job's score in BullMQ: priority × 2^32 + arrival counter. */
const PRIORITY_SCORE_SHIFT = 2 ** 32;

/** What the queue needs to know of a task to dispatch it. */
export interface DispatchableTask {
  id: string;
  kbId: string;
  taskType: TaskType;
  priority: TaskPriority;
  scheduleFor: Date | null;
  maxRetries: number;
}

/**
 * A queue's counts. For a task type served by external workers (EXTERNAL_TASK_TYPES) they come
 * from PostgreSQL: waiting (as `prioritized`) and delayed are its queued tasks, active its leased ones.
 */
export interface QueueCounts {
  waiting: number;
  prioritized: number;
  delayed: number;
  active: number;
  failed: number;
  completed: number;
  paused: number;
}

const EMPTY_COUNTS: QueueCounts = {
  waiting: 0,
  prioritized: 0,
  delayed: 0,
  active: 0,
  failed: 0,
  completed: 0,
  paused: 0,
};

/**
 * The BullMQ queues, one per task type. The job id is the task id, so dispatching the
 * same task twice is a no-op while its job exists — which lets the reconciler repeat it safely.
 * A job's BullMQ priority lies in its task priority's band, at its kb's fair tag there
 * (KbFairTags), so within one priority the kbs take turns.
 */
@Injectable()
export class TaskQueueService {
  private readonly logger = new Logger(TaskQueueService.name);
  private readonly backoffMs: number;
  private readonly cancelChannel: string;
  private readonly fairTags: KbFairTags;
  private readonly externalTypes: ReadonlySet<TaskType>;
  /** Concurrent single dispatches (one per API request) leave together, one addBulk per flush. */
  private readonly dispatches = new Coalescer<DispatchableTask, void>(
    async (tasks) => {
      await this.dispatchMany(tasks);
      return tasks.map(() => undefined);
    },
    { maxBatch: 500, maxInFlight: 2 },
  );

  constructor(
    config: ConfigService<AllConfig, true>,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(TASK_QUEUES) private readonly queues: TaskQueues,
    private readonly externalQueues: ExternalQueueRepository,
  ) {
    this.externalTypes = new Set(config.getOrThrow('queue.externalTaskTypes', { infer: true }));
    this.backoffMs = config.getOrThrow('queue.retryBackoffMs', { infer: true });
    const prefix = config.getOrThrow('queue.prefix', { infer: true });
    this.cancelChannel = redisKeys(prefix).cancelChannel;
    this.fairTags = new KbFairTags(redis, prefix, config.getOrThrow('queue.kbFairDispatch', { infer: true }));
  }

  queue(taskType: TaskType): Queue<TaskJobData> {
    return this.queues[taskType];
  }

  dispatch(task: DispatchableTask): Promise<void> {
    return this.dispatches.submit(task);
  }

  /** Two round trips per task type (the fair tags, then the jobs) instead of one per task. */
  async dispatchMany(tasks: DispatchableTask[]): Promise<void> {
    const now = new Date();
    const byType = new Map<TaskType, DispatchableTask[]>();
    for (const task of tasks) {
      const group = byType.get(task.taskType);
      if (group) group.push(task);
      else byType.set(task.taskType, [task]);
    }
    await this.guard(() =>
      Promise.all(
        [...byType.entries()].map(async ([type, group]) => {
          const queue = this.queues[type];
          const priorities = await this.fairTags.priorities(type, queue.keys.prioritized, group);
          return queue.addBulk(
            group.map((task, i) => ({
              name: type,
              data: { taskId: task.id, kbId: task.kbId },
              opts: this.jobOptions(task, priorities[i], now),
            })),
          );
        }),
      ),
    );
  }

  /**
   * Removes a waiting or delayed job. Returns false when the job is running (locked by a
   * worker) — that one is stopped through cancellation instead.
   */
  async removeWaitingJob(taskType: TaskType, taskId: string): Promise<boolean> {
    const job = await this.guard(() => this.queues[taskType].getJob(taskId));
    if (!job) return true;
    if (await job.isActive()) return false;
    try {
      await job.remove();
      return true;
    } catch (error) {
      this.logger.debug(`Job ${taskId} could not be removed: ${(error as Error).message}`);
      return false;
    }
  }

  /** Drops a finished job so the task can be dispatched again under the same job id. */
  async removeFinishedJob(taskType: TaskType, taskId: string): Promise<void> {
    const job = await this.guard(() => this.queues[taskType].getJob(taskId));
    if (job && !(await job.isActive())) await job.remove();
  }

  /**
   * Each task's 1-based place in its queue's dispatch order: BullMQ pops the prioritized set
   * lowest score first (priority band, fair tag within it, then arrival), so the rank there is
   * exactly how many jobs go before it. One pipelined round trip of O(log n) lookups; tasks not in the set (delayed,
   * already taken) are left out.
   */
  async queuePositions(tasks: { id: string; taskType: TaskType }[]): Promise<Map<string, number>> {
    if (tasks.length === 0) return new Map();
    const ranks = await this.guard(() => {
      const pipeline = this.redis.pipeline();
      for (const task of tasks) pipeline.zrank(this.queues[task.taskType].keys.prioritized, task.id);
      return pipeline.exec();
    });
    const positions = new Map<string, number>();
    tasks.forEach((task, i) => {
      const [error, rank] = ranks?.[i] ?? [];
      if (!error && typeof rank === 'number') positions.set(task.id, rank + 1);
    });
    return positions;
  }

  /** Stops a task's job wherever it is: removed while waiting, aborted (via broadcast) while running. */
  async stopTask(taskType: TaskType, taskId: string): Promise<void> {
    if (!(await this.removeWaitingJob(taskType, taskId))) await this.broadcastCancel(taskId);
  }

  /** Whether a task's job can still run ('live'), has ended in Redis ('finished') or is gone ('missing'). */
  async jobState(taskType: TaskType, taskId: string): Promise<'live' | 'finished' | 'missing'> {
    const state = await this.guard(() => this.queues[taskType].getJobState(taskId));
    if (state === 'unknown') return 'missing';
    return state === 'completed' || state === 'failed' ? 'finished' : 'live';
  }

  /** Tells every worker process to stop this task if it is running there. */
  async broadcastCancel(taskId: string): Promise<void> {
    await this.guard(() => this.redis.publish(this.cancelChannel, taskId));
  }

  async counts(taskType: TaskType): Promise<QueueCounts> {
    if (this.externalTypes.has(taskType)) {
      const external = await this.externalQueues.counts(taskType);
      const waiting = Object.values(external.waitingByPriority).reduce((sum, n) => sum + n, 0);
      // Finished tasks of an external type never had a job: nothing is kept to count there.
      return { ...EMPTY_COUNTS, prioritized: waiting, delayed: external.delayed, active: external.active };
    }
    const c = await this.guard(() =>
      this.queues[taskType].getJobCounts(
        'waiting',
        'prioritized',
        'delayed',
        'active',
        'failed',
        'completed',
        'paused',
      ),
    );
    return {
      waiting: c.waiting ?? 0,
      prioritized: c.prioritized ?? 0,
      delayed: c.delayed ?? 0,
      active: c.active ?? 0,
      failed: c.failed ?? 0,
      completed: c.completed ?? 0,
      paused: c.paused ?? 0,
    };
  }

  /**
   * Stops dispatch of a task type: BullMQ keeps the paused flag in Redis, so every worker
   * process stops taking its jobs; running jobs finish, new tasks still queue up.
   */
  async pause(taskType: TaskType): Promise<void> {
    await this.guard(() => this.queues[taskType].pause());
  }

  async resume(taskType: TaskType): Promise<void> {
    await this.guard(() => this.queues[taskType].resume());
  }

  async isPaused(taskType: TaskType): Promise<boolean> {
    return this.guard(() => this.queues[taskType].isPaused());
  }

  /**
   * Jobs ready to run (not delayed, not running), per priority: each priority's whole band of
   * BullMQ priorities (BullMQ's own count per priority sees one value, not a band).
   */
  async waitingByPriority(taskType: TaskType): Promise<Record<TaskPriority, number>> {
    if (this.externalTypes.has(taskType)) return (await this.externalQueues.counts(taskType)).waitingByPriority;
    const prioritized = this.queues[taskType].keys.prioritized;
    const counts = await this.guard(() =>
      Promise.all(
        TASK_PRIORITIES.map((priority) => {
          const band = priorityBand(priority);
          return this.redis.zcount(
            prioritized,
            band.first * PRIORITY_SCORE_SHIFT,
            (band.last + 1) * PRIORITY_SCORE_SHIFT - 1,
          );
        }),
      ),
    );
    return Object.fromEntries(TASK_PRIORITIES.map((priority, i) => [priority, counts[i]])) as Record<
      TaskPriority,
      number
    >;
  }

  /** Ready-to-run jobs over every queue. */
  async totalWaiting(): Promise<number> {
    const builtIn = TASK_TYPES.filter((type) => !this.externalTypes.has(type));
    const external = TASK_TYPES.filter((type) => this.externalTypes.has(type));
    // Two counts per BullMQ queue (not counts()'s seven): stats and health read this often.
    const [jobs, leased] = await Promise.all([
      this.guard(() => Promise.all(builtIn.map((type) => this.queues[type].getJobCounts('waiting', 'prioritized')))),
      Promise.all(external.map((type) => this.counts(type))),
    ]);
    return (
      jobs.reduce((sum, c) => sum + (c.waiting ?? 0) + (c.prioritized ?? 0), 0) +
      leased.reduce((sum, c) => sum + c.waiting + c.prioritized, 0)
    );
  }

  /**
   * Queue connections wait for Redis forever (BullMQ needs that for its workers); calls made
   * for an API request must not. While Redis is unreachable they fail at once — and a
   * reply that does not come in time fails too — with 503 SERVICE_UNAVAILABLE.
   */
  private async guard<T>(operation: () => Promise<T>): Promise<T> {
    if (this.redis.status !== 'ready') {
      throw new ServiceUnavailableError('The task queue (Redis) is unavailable; try again shortly', {
        component: 'redis',
      });
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        operation(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            reject(
              new ServiceUnavailableError('The task queue (Redis) did not answer in time', { component: 'redis' }),
            );
          }, REDIS_TIMEOUT_MS);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private jobOptions(task: DispatchableTask, priority: number, now: Date): JobsOptions {
    const delay = task.scheduleFor ? Math.max(0, task.scheduleFor.getTime() - now.getTime()) : 0;
    return {
      jobId: task.id,
      priority,
      delay,
      attempts: task.maxRetries + 1,
      backoff: { type: 'exponential', delay: this.backoffMs },
      // PostgreSQL keeps the history; Redis only needs a finished job briefly.
      removeOnComplete: { age: 3600, count: 1000 },
      removeOnFail: { age: 24 * 3600, count: 5000 },
    };
  }
}
