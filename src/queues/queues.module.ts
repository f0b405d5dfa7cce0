import { BullModule } from '@nestjs/bullmq';
import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import type { AllConfig } from '../config/app.config';
import { TASK_TYPES } from '../task-types/task-types';
import { ConcurrencyCapsService } from './concurrency-caps.service';
import { ExternalQueueRepository } from './external-queue.repository';
import { ExternalTaskSignal } from './external-task-signal.service';
import { createRedisClient, redisOptionsFromUrl } from './redis-connection';
import { redisClientProvider, REDIS_CLIENT } from './redis.provider';
import { TaskQueueService } from './task-queue.service';
import { taskQueuesProvider } from './task-queues.provider';
import { WorkerDirectoryService } from './worker-directory.service';

/** The BullMQ queues (one per task type), the plain Redis client, the worker directory, the external workers' wake-up signal and the concurrency caps. */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<AllConfig, true>) => {
        const queue = config.getOrThrow('queue', { infer: true });
        // A single Redis: options, so BullMQ opens its own connections. A cluster: one shared
        // client (BullMQ duplicates it for each worker's blocking connection).
        const connection =
          queue.clusterNodes.length > 0
            ? createRedisClient(queue, 'worker')
            : redisOptionsFromUrl(queue.redisUrl, 'worker');
        return { connection, prefix: queue.prefix };
      },
    }),
    // Workers are built from their queue's options, so queues keep BullMQ's blocking-safe
    // connection; the API's fail-fast behaviour lives in TaskQueueService.dispatch instead.
    BullModule.registerQueue(...TASK_TYPES.map((name) => ({ name }))),
  ],
  providers: [
    taskQueuesProvider,
    TaskQueueService,
    WorkerDirectoryService,
    ExternalTaskSignal,
    ConcurrencyCapsService,
    ExternalQueueRepository,
    redisClientProvider,
  ],
  exports: [
    TaskQueueService,
    WorkerDirectoryService,
    ExternalTaskSignal,
    ConcurrencyCapsService,
    REDIS_CLIENT,
    BullModule,
  ],
})
export class QueuesModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => {
      this.redis.disconnect();
    });
  }
}
