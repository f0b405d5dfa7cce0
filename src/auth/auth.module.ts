import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import type Redis from 'ioredis';
import type { AllConfig } from '../config/app.config';
import { REDIS_CLIENT } from '../queues/redis.provider';
import { AuthGuard } from './auth.guard';
import { Authenticator } from './authenticator.service';
import { RateLimitGuard } from './rate-limit.guard';
import { RedisThrottlerStorage } from './redis-throttler.storage';
import { RouteAccessResolver } from './route-access';

const WINDOW_MS = 60_000;

/**
 * Authentication, roles, tenancy and rate limiting of the HTTP API (docs/security.md).
 * Guards run in the order listed: the rate limiter first (so failed credentials count
 * against their IP), then authentication and authorization.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [ConfigService, REDIS_CLIENT],
      useFactory: (config: ConfigService<AllConfig, true>, redis: Redis) => {
        const limit = config.getOrThrow('auth.rateLimitPerMinute', { infer: true });
        return {
          throttlers: [{ name: 'default', ttl: WINDOW_MS, limit, skipIf: () => limit === 0 }],
          storage: new RedisThrottlerStorage(redis, config.getOrThrow('queue.prefix', { infer: true })),
        };
      },
    }),
  ],
  providers: [
    Authenticator,
    RouteAccessResolver,
    { provide: APP_GUARD, useClass: RateLimitGuard },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [Authenticator],
})
export class AuthModule {}
