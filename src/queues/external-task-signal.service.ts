import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import { errorMessage } from '../common/errors/error-message';
import type { AllConfig } from '../config/app.config';
import { TASK_TYPES, type TaskType } from '../task-types/task-types';
import { REDIS_CLIENT, redisKeys } from './redis.provider';

/**
 * Wakes external workers' long polls: whoever queues a task of an external type (create,
 * retry, requeue) publishes its type on one Redis channel, and every API process holding a
 * `POST /workers/lease` for that type re-reads PostgreSQL at once. A signal is only a hint —
 * PostgreSQL says what is due — so one that is lost (Redis down) delays a lease by at most
 * the leasers' own one-second recheck.
 */
@Injectable()
export class ExternalTaskSignal implements OnApplicationShutdown {
  private readonly logger = new Logger(ExternalTaskSignal.name);
  private readonly channel: string;
  private readonly listeners = new Set<(taskType: TaskType) => void>();
  /** A subscribed connection cannot send other commands: its own, opened by the first listener. */
  private subscriber: Redis | null = null;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    config: ConfigService<AllConfig, true>,
  ) {
    this.channel = redisKeys(config.getOrThrow('queue.prefix', { infer: true })).externalTasksChannel;
  }

  /** Tasks of these types became due; never throws (see the class comment). */
  async notify(taskTypes: Iterable<TaskType>): Promise<void> {
    for (const type of new Set(taskTypes)) {
      await this.redis.publish(this.channel, type).catch((error: unknown) => {
        this.logger.warn(`Leasers of ${type} not woken (${errorMessage(error)}); they recheck within a second`);
      });
    }
  }

  /** Calls `listener` with the type of each signal, from any process; returns the unsubscribe. */
  listen(listener: (taskType: TaskType) => void): () => void {
    this.listeners.add(listener);
    this.subscribe();
    return () => this.listeners.delete(listener);
  }

  async onApplicationShutdown(): Promise<void> {
    this.listeners.clear();
    await this.subscriber?.quit().catch(() => {
      this.subscriber?.disconnect();
    });
  }

  private subscribe(): void {
    if (this.subscriber) return;
    const subscriber = this.redis.duplicate();
    this.subscriber = subscriber;
    subscriber.on('message', (_channel: string, message: string) => {
      if (!(TASK_TYPES as string[]).includes(message)) return;
      for (const listener of this.listeners) listener(message as TaskType);
    });
    // ioredis reconnects and subscribes again by itself; meanwhile the leasers' recheck covers the gap.
    subscriber.on('error', () => undefined);
    subscriber.subscribe(this.channel).catch((error: unknown) => {
      this.logger.warn(`Not subscribed to task signals (${errorMessage(error)}); leases recheck every second`);
    });
  }
}
