import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  ThrottlerLimitDetail,
  ThrottlerModuleOptions,
  ThrottlerStorage,
} from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { RateLimitedError } from '../common/errors/domain.error';
import { AuthenticationGate, clientAddress } from './authentication-gate.service';
import { RouteAccessResolver } from './route-access';

/**
 * @nestjs/throttler's guard, per caller rather than per route: with authentication on, one
 * budget per API key or token subject across every route (RATE_LIMIT_PER_MINUTE); with it
 * off, one per client IP (RATE_LIMIT_PER_IP_PER_MINUTE, none by default). The library's
 * default key is per route. Health probes and /metrics are not counted. Runs before the
 * auth guard, and authenticates first (AuthenticationGate: 401, or 429 for an address past
 * its failed-authentication limit), so a budget is only ever spent by its own caller. A
 * refusal is 429 RATE_LIMITED with Retry-After; 503 when Redis cannot answer. With every
 * limit at 0 it returns at once: no route metadata read, no Redis round trip.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  /** Every limit is 0 (the default without authentication): the guard has nothing to do, not even look at the route. */
  private readonly off: boolean;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly gate: AuthenticationGate,
    private readonly access: RouteAccessResolver,
  ) {
    super(options, storage, reflector);
    this.off = (Array.isArray(options) ? options : (options.throttlers ?? [])).every(
      (throttler) => throttler.limit === 0,
    );
  }

  override canActivate(context: ExecutionContext): Promise<boolean> {
    return this.off ? Promise.resolve(true) : super.canActivate(context);
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return context.getType() !== 'http' || this.access.resolve(context).public;
  }

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    const req = request as unknown as FastifyRequest;
    return this.gate.enabled ? (await this.gate.authenticate(req)).id : clientAddress(req);
  }

  protected override generateKey(_context: ExecutionContext, tracker: string): string {
    return tracker;
  }

  protected override async throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new RateLimitedError(detail.limit, Math.round(detail.ttl / 1000), Math.max(1, detail.timeToBlockExpire));
  }
}
