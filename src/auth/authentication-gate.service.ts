import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { normalizeIp } from '@nestjs/throttler';
import type Redis from 'ioredis';
import { AuthFailuresLimitedError } from '../common/errors/domain.error';
import { Principal } from '../common/security/principal';
import type { AllConfig } from '../config/app.config';
import { REDIS_CLIENT } from '../queues/redis.provider';
import { Authenticator, CallerRequest } from './authenticator.service';
import { RedisThrottlerStorage } from './redis-throttler.storage';

const FAILED_AUTH = 'failed-auth';

/**
 * The rate limiter's name for a client address: the IP Fastify resolved (TRUST_PROXY
 * decides whose X-Forwarded-For counts); an IPv6 client by its /64, since one host is handed
 * a whole /64 and could otherwise rotate through it.
 */
export function clientAddress(request: CallerRequest): string {
  return `ip:${normalizeIp(request.ip ?? request.socket?.remoteAddress ?? 'unknown', 64)}`;
}

/**
 * Authentication with a brute-force limit, for everything that needs credentials: the API's
 * guards and the pages' middleware (Bull Board, dashboard, docs) all ask here.
 *
 * A credential that fails to verify counts against the client's address; past
 * AUTH_FAILURE_LIMIT failures within AUTH_FAILURE_WINDOW_SECONDS the address is blocked for
 * that window, and every request of it that carries credentials gets 429 RATE_LIMITED with
 * Retry-After — valid credentials too, or a guess that succeeds would still stand out from
 * the refused ones. Requests without credentials are not counted: they guess nothing, and a
 * browser's first request for a page never carries any. The limit is per address whatever
 * RATE_LIMIT_* say. When Redis cannot answer, 503 (see RedisThrottlerStorage). The outcome
 * is remembered per request, so the middleware and the guards of one request count once.
 */
@Injectable()
export class AuthenticationGate {
  private readonly storage: RedisThrottlerStorage;
  private readonly limit: number;
  private readonly windowSeconds: number;
  private readonly outcomes = new WeakMap<object, Promise<Principal>>();

  constructor(
    private readonly authenticator: Authenticator,
    @Inject(REDIS_CLIENT) redis: Redis,
    config: ConfigService<AllConfig, true>,
  ) {
    const auth = config.getOrThrow('auth', { infer: true });
    this.limit = auth.authFailureLimit;
    this.windowSeconds = auth.authFailureWindowSeconds;
    this.storage = new RedisThrottlerStorage(redis, config.getOrThrow('queue.prefix', { infer: true }));
  }

  /** Whether credentials are required at all (API keys or a JWT key configured). */
  get enabled(): boolean {
    return this.authenticator.enabled;
  }

  /** The request's caller; throws 401 (with `challenge` as WWW-Authenticate), 429 or 503. */
  authenticate(request: CallerRequest, challenge?: string): Promise<Principal> {
    let outcome = this.outcomes.get(request);
    if (!outcome) {
      outcome = this.check(request, challenge);
      this.outcomes.set(request, outcome);
    }
    return outcome;
  }

  private async check(request: CallerRequest, challenge?: string): Promise<Principal> {
    const identity = this.authenticator.identify(request);
    if ('anonymous' in identity) return this.authenticator.require(request, challenge);
    const address = clientAddress(request);
    if ('error' in identity) {
      const windowMs = this.windowSeconds * 1000;
      const failures = await this.storage.increment(address, windowMs, this.limit, windowMs, FAILED_AUTH);
      if (failures.isBlocked) throw this.limited(failures.timeToBlockExpire);
      return this.authenticator.require(request, challenge);
    }
    const blockedFor = await this.storage.blockedFor(address, FAILED_AUTH);
    if (blockedFor > 0) throw this.limited(blockedFor);
    return identity.principal;
  }

  private limited(retryAfterSeconds: number): AuthFailuresLimitedError {
    return new AuthFailuresLimitedError(this.limit, this.windowSeconds, Math.max(1, retryAfterSeconds));
  }
}
