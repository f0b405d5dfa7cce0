import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { errorMessage } from '../common/errors/error-message';
import { LeaseLostError, TaskCancelledError, WorkerShutdownError } from '../common/errors/task-errors';
import type { AllConfig } from '../config/app.config';
import { createRedisClient, RedisClient } from '../queues/redis-connection';
import { redisKeys } from '../queues/redis.provider';

/** What this process holds for one task while it claims, runs and records it. */
export interface TaskLease {
  readonly taskId: string;
  /** Aborted on cancel, timeout (set by the caller), shutdown after the grace period, or a lost job lock. */
  readonly controller: AbortController;
  /**
   * Aborted only when this process may no longer write for the task: the grace period is
   * over (WorkerShutdownError) or BullMQ lost the job's lock (LeaseLostError). Writes that
   * wait out a database outage stop there, so they never outlive the process's hold on the task.
   */
  readonly held: AbortSignal;
  release(): void;
}

/**
 * The process's abort signals for the tasks it holds. Cancelling: the API broadcasts the
 * task id on a Redis channel and the process that holds the task aborts its AbortSignal.
 * Shutting down: new jobs are handed back unstarted, and once the grace period is over
 * every running task is aborted and every pending write gives up.
 */
@Injectable()
export class TaskCancellationService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(TaskCancellationService.name);
  private readonly running = new Map<string, { controller: AbortController; held: AbortController }>();
  private stopping = false;
  private readonly channel: string;
  private readonly subscriber: RedisClient;

  constructor(config: ConfigService<AllConfig, true>) {
    const queue = config.getOrThrow('queue', { infer: true });
    this.channel = redisKeys(queue.prefix).cancelChannel;
    this.subscriber = createRedisClient(queue, 'worker', { lazyConnect: true });
  }

  async onModuleInit(): Promise<void> {
    this.subscriber.on('message', (_channel: string, taskId: string) => this.cancelLocal(taskId));
    this.subscriber.on('error', (error: unknown) => {
      this.logger.warn(`Cancel channel: ${errorMessage(error)}`);
    });
    // Subscribing only once connected keeps ioredis's ready check off the subscriber
    // connection; ioredis re-subscribes by itself after a reconnect.
    await this.subscriber.connect().catch((error: unknown) => {
      this.logger.warn(`Cancel channel not connected yet: ${errorMessage(error)}`);
    });
    this.subscriber.subscribe(this.channel).catch((error: unknown) => {
      this.logger.warn(`Cancel channel: ${errorMessage(error)}`);
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscriber.quit().catch(() => {
      this.subscriber.disconnect();
    });
  }

  /** False once the process is shutting down: a job not started by then goes back to the queue. */
  get accepting(): boolean {
    return !this.stopping;
  }

  /** SIGTERM: take no new task; those already running keep going until abortAll. */
  stopAccepting(): void {
    this.stopping = true;
  }

  /** Registers a task this process now holds; release() when its job is done with. */
  hold(taskId: string): TaskLease {
    // Two plain controllers rather than AbortSignal.any over a process-wide shutdown signal:
    // every task's composite signal would stay attached to that long-lived one (a known leak).
    const entry = { controller: new AbortController(), held: new AbortController() };
    this.running.set(taskId, entry);
    return {
      taskId,
      controller: entry.controller,
      held: entry.held.signal,
      release: () => {
        if (this.running.get(taskId) === entry) this.running.delete(taskId);
      },
    };
  }

  /** The grace period is over: aborts every task held here and every write still waiting; returns how many. */
  abortAll(reason: WorkerShutdownError): number {
    this.stopping = true;
    for (const { controller, held } of this.running.values()) {
      held.abort(reason);
      controller.abort(reason);
    }
    return this.running.size;
  }

  /**
   * BullMQ could not renew the job's lock: another worker may take the job, so this process
   * stops running the task and stops writing for it (job id = task id).
   */
  lockLost(taskId: string): void {
    const entry = this.running.get(taskId);
    if (!entry) return;
    const reason = new LeaseLostError();
    entry.held.abort(reason);
    entry.controller.abort(reason);
  }

  cancelLocal(taskId: string): boolean {
    const entry = this.running.get(taskId);
    if (!entry) return false;
    entry.controller.abort(new TaskCancelledError());
    return true;
  }
}
