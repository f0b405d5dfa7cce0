import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InjectThrottlerOptions, InjectThrottlerStorage, ThrottlerGuard, ThrottlerLimitDetail, ThrottlerModuleOptions, ThrottlerStorage } from '@nestjs/throttler';
import type { Request } from 'express';
import { RateLimitedError } from '../common/errors/domain.error';
import { Authenticator } from './authenticator.service';
import { RouteAccessResolver } from './route-access';

/**
 * @nestjs/throttler's guard, per caller rather than per route: one budget per API key or
 * token subject, across every route (the library's default key is per route). Callers
 * without valid credentials — everyone when authentication is off — are counted by IP, so
 * guessing keys is limited too. Health probes and /metrics are not counted. Runs before
 * the auth guard; a refusal is 429 RATE_LIMITED with Retry-After.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly authenticator: Authenticator,
    private readonly access: RouteAccessResolver,
  ) {
    super(options, storage, reflector);
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return context.getType() !== 'http' || this.access.resolve(context).public;
  }

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    const req = request as unknown as Request;
    const identity = this.authenticator.enabled ? this.authenticator.identify(req) : null;
    return identity && 'principal' in identity ? identity.principal.id : `ip:${req.ip ?? req.socket?.remoteAddress ?? 'unknown'}`;
  }

  protected override generateKey(_context: ExecutionContext, tracker: string): string {
    return tracker;
  }

  protected override async throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    throw new RateLimitedError(detail.limit, Math.round(detail.ttl / 1000), Math.max(1, detail.timeToBlockExpire));
  }
}
