import { Logger } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type Redis from 'ioredis';
import { ServiceUnavailableError } from '../common/errors/domain.error';
import { withTimeout } from '../common/utils/with-timeout';

/**
 * One hit, atomically: a blocked caller stays blocked until its block key expires; else the
 * window counter is incremented (its expiry set by the first hit of the window) and, past
 * the limit, the block key is set for the block duration. Returns hits, the window's
 * remaining ms and the block's remaining ms (0 when not blocked).
 */
const HIT_SCRIPT = `
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then
  return {tonumber(redis.call('GET', KEYS[1]) or ARGV[2]), redis.call('PTTL', KEYS[1]), blocked}
end
local hits = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
if hits > tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  return {hits, ttl, tonumber(ARGV[3])}
end
return {hits, ttl, 0}
`;

/**
 * A rate-limit check that takes longer than this counts as Redis not answering. A Redis that
 * is down fails at once (the client has no offline queue); this only catches a hung one, so
 * it is generous: a busy API process or a busy Redis must not turn into 503s.
 */
const REDIS_TIMEOUT_MS = 3000;
/** While Redis is failing, the warning is logged at most this often. */
const WARN_EVERY_MS = 30_000;
/** Retry-After of the 503 while Redis does not answer: long enough not to hammer it, short enough to notice it is back. */
export const REDIS_DOWN_RETRY_AFTER_SECONDS = 5;

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;
type HitCommand = (
  hitsKey: string,
  blockKey: string,
  ttlMs: number,
  limit: number,
  blockMs: number,
) => Promise<[number, number, number]>;

/**
 * @nestjs/throttler's storage in Redis, so one limit holds across every API instance. When
 * Redis cannot answer (down, or slower than REDIS_TIMEOUT_MS) the limit cannot be checked:
 * the request is refused with 503 SERVICE_UNAVAILABLE and Retry-After, and a warning
 * logged. Letting it through would make the limits — the failed-authentication one
 * included — disappear whenever Redis does.
 */
export class RedisThrottlerStorage implements ThrottlerStorage {
  private readonly logger = new Logger('RateLimit');
  private readonly hit: HitCommand;
  private lastWarning = 0;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    // The client is shared: a command defined twice (two apps on one client) is harmless.
    if (!(redis as unknown as Record<string, unknown>).taskManagerRateLimitHit) {
      redis.defineCommand('taskManagerRateLimitHit', { numberOfKeys: 2, lua: HIT_SCRIPT });
    }
    this.hit = (redis as unknown as { taskManagerRateLimitHit: HitCommand }).taskManagerRateLimitHit.bind(redis);
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const base = this.base(key, throttlerName);
    const [totalHits, windowMs, blockMs] = await this.ask(
      this.hit(`${base}:hits`, `${base}:blocked`, ttl, limit, blockDuration),
    );
    return {
      totalHits,
      timeToExpire: Math.max(0, Math.ceil(windowMs / 1000)),
      isBlocked: blockMs > 0,
      timeToBlockExpire: Math.max(0, Math.ceil(blockMs / 1000)),
    };
  }

  /** Seconds until `key` of `throttlerName` is no longer blocked; 0 when it is not blocked. */
  async blockedFor(key: string, throttlerName: string): Promise<number> {
    const ms = await this.ask(this.redis.pttl(`${this.base(key, throttlerName)}:blocked`));
    return ms > 0 ? Math.ceil(ms / 1000) : 0;
  }

  private base(key: string, throttlerName: string): string {
    // The hash tag keeps both keys of a caller in one Redis Cluster slot, as the script needs.
    return `${this.prefix}:rate-limit:${throttlerName}:{${key}}`;
  }

  private async ask<T>(command: Promise<T>): Promise<T> {
    try {
      return await withTimeout(command, REDIS_TIMEOUT_MS);
    } catch (error) {
      if (Date.now() - this.lastWarning > WARN_EVERY_MS) {
        this.lastWarning = Date.now();
        this.logger.warn(
          `Rate limits cannot be checked while Redis does not answer; limited requests get 503: ${(error as Error).message}`,
        );
      }
      throw new ServiceUnavailableError(
        'Rate limits cannot be checked right now; try again shortly',
        { component: 'redis' },
        REDIS_DOWN_RETRY_AFTER_SECONDS,
      );
    }
  }
}
