import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../config/app.config';
import { redisKeys } from '../queues/redis.provider';
import { createRedisClient, RedisClient } from '../queues/redis-connection';
import { TaskCancelledError } from './task-errors';

/**
 * Stops running tasks when they are cancelled, in whichever worker process runs them:
 * the API broadcasts the task id on a Redis channel and the process that holds the task
 * aborts its AbortSignal.
 */
@Injectable()
export class TaskCancellationService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(TaskCancellationService.name);
  private readonly running = new Map<string, AbortController>();
  private readonly channel: string;
  private readonly subscriber: RedisClient;

  constructor(config: ConfigService<AllConfig, true>) {
    const queue = config.getOrThrow('queue', { infer: true });
    this.channel = redisKeys(queue.prefix).cancelChannel;
    this.subscriber = createRedisClient(queue, 'worker', { lazyConnect: true });
  }

  async onModuleInit(): Promise<void> {
    this.subscriber.on('message', (_channel: string, taskId: string) => this.cancelLocal(taskId));
    this.subscriber.on('error', (error) => this.logger.warn(`Cancel channel: ${error.message}`));
    // Subscribing only once connected keeps ioredis's ready check off the subscriber
    // connection; ioredis re-subscribes by itself after a reconnect.
    await this.subscriber.connect().catch((error: Error) => this.logger.warn(`Cancel channel not connected yet: ${error.message}`));
    this.subscriber.subscribe(this.channel).catch((error: Error) => this.logger.warn(`Cancel channel: ${error.message}`));
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }

  /** Registers a running task; the returned controller is aborted when it is cancelled. */
  track(taskId: string, controller: AbortController): () => void {
    this.running.set(taskId, controller);
    return () => {
      if (this.running.get(taskId) === controller) this.running.delete(taskId);
    };
  }

  /** Aborts every task running in this process (shutdown after the grace period); returns how many. */
  abortAll(reason: Error): number {
    for (const controller of this.running.values()) controller.abort(reason);
    return this.running.size;
  }

  cancelLocal(taskId: string): boolean {
    const controller = this.running.get(taskId);
    if (!controller) return false;
    controller.abort(new TaskCancelledError());
    return true;
  }
}
