import { Logger } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type Redis from 'ioredis';

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

/** A rate-limit check that takes longer than this lets the request through. */
const REDIS_TIMEOUT_MS = 500;
/** While Redis is failing, the warning is logged at most this often. */
const WARN_EVERY_MS = 30_000;

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;
type HitCommand = (hitsKey: string, blockKey: string, ttlMs: number, limit: number, blockMs: number) => Promise<[number, number, number]>;

/**
 * @nestjs/throttler's storage in Redis, so one limit holds across every API instance. When
 * Redis cannot answer (down, or slower than REDIS_TIMEOUT_MS) the request is let through
 * and a warning logged: rate limiting must not take the API down with Redis.
 */
export class RedisThrottlerStorage implements ThrottlerStorage {
  private readonly logger = new Logger('RateLimit');
  private readonly hit: HitCommand;
  private lastWarning = 0;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    // The client is shared: a command defined twice (two apps on one client) is harmless.
    if (!(redis as unknown as Record<string, unknown>).taskManagerRateLimitHit) {
      redis.defineCommand('taskManagerRateLimitHit', { numberOfKeys: 2, lua: HIT_SCRIPT });
    }
    this.hit = (redis as unknown as { taskManagerRateLimitHit: HitCommand }).taskManagerRateLimitHit.bind(redis);
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    // The hash tag keeps both keys of a caller in one Redis Cluster slot, as the script needs.
    const base = `${this.prefix}:rate-limit:${throttlerName}:{${key}}`;
    try {
      const [totalHits, windowMs, blockMs] = await withTimeout(this.hit(`${base}:hits`, `${base}:blocked`, ttl, limit, blockDuration), REDIS_TIMEOUT_MS);
      return {
        totalHits,
        timeToExpire: Math.max(0, Math.ceil(windowMs / 1000)),
        isBlocked: blockMs > 0,
        timeToBlockExpire: Math.max(0, Math.ceil(blockMs / 1000)),
      };
    } catch (error) {
      if (Date.now() - this.lastWarning > WARN_EVERY_MS) {
        this.lastWarning = Date.now();
        this.logger.warn(`Rate limiting is not enforced while Redis does not answer: ${(error as Error).message}`);
      }
      return { totalHits: 0, timeToExpire: Math.ceil(ttl / 1000), isBlocked: false, timeToBlockExpire: 0 };
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
