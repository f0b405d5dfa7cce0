import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import type Redis from 'ioredis';
import type { AllConfig } from '../config/app.config';
import { REDIS_CLIENT } from '../queues/redis.provider';
import { AuthGuard } from './auth.guard';
import { AuthenticationGate } from './authentication-gate.service';
import { Authenticator } from './authenticator.service';
import { RateLimitGuard } from './rate-limit.guard';
import { RedisThrottlerStorage } from './redis-throttler.storage';
import { RouteAccessResolver } from './route-access';
import { TaskOwnershipRepository } from './task-ownership.repository';

const WINDOW_MS = 60_000;

/**
 * Authentication, roles, tenancy and rate limiting of the HTTP API (docs/security.md).
 * Guards run in the order listed: the rate limiter first (it authenticates through the
 * AuthenticationGate, which limits failed credentials per IP, then spends the caller's
 * budget), then authorization and tenancy. The pages outside Nest's guards use the same gate.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [ConfigService, REDIS_CLIENT],
      useFactory: (config: ConfigService<AllConfig, true>, redis: Redis) => {
        const auth = config.getOrThrow('auth', { infer: true });
        // Per API key / token subject with authentication, per client IP without (none by default).
        const limit = auth.enabled ? auth.rateLimitPerMinute : auth.rateLimitPerIpPerMinute;
        return {
          throttlers: [{ name: 'default', ttl: WINDOW_MS, limit, skipIf: () => limit === 0 }],
          storage: new RedisThrottlerStorage(redis, config.getOrThrow('queue.prefix', { infer: true })),
        };
      },
    }),
  ],
  providers: [
    Authenticator,
    AuthenticationGate,
    RouteAccessResolver,
    TaskOwnershipRepository,
    { provide: APP_GUARD, useClass: RateLimitGuard },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [Authenticator, AuthenticationGate],
})
export class AuthModule {}
