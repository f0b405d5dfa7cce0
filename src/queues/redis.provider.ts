import { Logger, Provider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { errorMessage } from '../common/errors/error-message';
import type { AllConfig } from '../config/app.config';
import { createRedisClient } from './redis-connection';

/** A fail-fast Redis client for plain commands: worker registry, cancel broadcasts, health. */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

export const redisClientProvider: Provider = {
  provide: REDIS_CLIENT,
  inject: [ConfigService],
  useFactory: async (config: ConfigService<AllConfig, true>) => {
    // Auto-pipelining: commands issued in the same tick (queue positions of concurrent
    // requests, heartbeats) leave in one write instead of one each.
    const client = createRedisClient(config.getOrThrow('queue', { infer: true }), 'producer', {
      lazyConnect: true,
      enableAutoPipelining: true,
    });
    // Connected before the first heartbeat uses it; if Redis is down the service starts
    // anyway (creates are stored and dispatched later) and ioredis keeps reconnecting.
    await client.connect().catch((error: unknown) => {
      new Logger('Redis').warn(`Redis unavailable at start-up: ${errorMessage(error)}`);
    });
    return client;
  },
};

/** Redis key names under the service's prefix, in one place. */
export const redisKeys = (prefix: string) => ({
  workers: `${prefix}:workers`,
  worker: (id: string) => `${prefix}:worker:${id}`,
  cancelChannel: `${prefix}:cancel`,
  externalTasksChannel: `${prefix}:external-tasks`,
  reconcileLock: `${prefix}:reconcile-lock`,
  retentionLock: `${prefix}:retention-lock`,
  bulkOperation: (id: string) => `${prefix}:bulk-operation:${id}`,
});
