import { Logger } from '@nestjs/common';
import { ProviderRateLimiter, RateLimitWaitExceededError } from './provider-rate-limiter';
import type { RedisRequestBudget } from './redis-request-budget';
import type { Admission } from './sliding-window';

const unlimited = { windowMs: 60_000, maxRequests: 0, maxTokens: 0 };

/** A shared budget whose answers the test decides, standing in for Redis. */
function fakeShared(tryAcquire: () => Promise<Admission>) {
  const calls = { acquire: 0, pause: [] as number[], settle: [] as [string, number, number][] };
  const shared = {
    tryAcquire: () => {
      calls.acquire++;
      return tryAcquire();
    },
    pause: (ms: number) => {
      calls.pause.push(ms);
      return Promise.resolve();
    },
    settle: (id: string, charged: number, real: number) => {
      calls.settle.push([id, charged, real]);
      return Promise.resolve();
    },
  };
  return { shared: shared as unknown as RedisRequestBudget, calls };
}

describe('ProviderRateLimiter', () => {
  let warn: jest.SpyInstance;
  let log: jest.SpyInstance;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('waits as long as the shared budget says, reports the wait, and settles through it', async () => {
    const answers: Admission[] = [{ granted: false, waitMs: 120 }, { granted: true }];
    const { shared, calls } = fakeShared(() => Promise.resolve(answers.shift() ?? { granted: true }));
    const waits: number[] = [];
    const limiter = new ProviderRateLimiter({
      limits: unlimited,
      shared,
      observer: { throttled: (s) => waits.push(s), rateLimited: () => undefined },
    });
    const started = Date.now();
    const reservation = await limiter.acquire(10);
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
    expect(reservation).toMatchObject({ tokens: 10, shared: true });
    expect(calls.acquire).toBe(2);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(0.11);
    await limiter.settle(reservation, 12);
    await limiter.settle(reservation, 10);
    expect(calls.settle).toEqual([[reservation.id, 10, 12]]);
  });

  it('gives up at once when the wait would pass the deadline, and stops waiting when aborted', async () => {
    const { shared } = fakeShared(() => Promise.resolve({ granted: false, waitMs: 10_000 }));
    const limiter = new ProviderRateLimiter({ limits: unlimited, shared });
    const started = Date.now();
    await expect(limiter.acquire(1, undefined, Date.now() + 1000)).rejects.toBeInstanceOf(RateLimitWaitExceededError);
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort(new Error('cancelled'));
    }, 50);
    await expect(limiter.acquire(1, controller.signal)).rejects.toThrow('cancelled');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('counts a 429 and pauses both the shared and its own budget', async () => {
    const { shared, calls } = fakeShared(() => Promise.reject(new Error('down')));
    let rateLimited = 0;
    const limiter = new ProviderRateLimiter({
      limits: unlimited,
      shared,
      observer: { throttled: () => undefined, rateLimited: () => rateLimited++ },
      fallbackMs: 0,
    });
    await limiter.rateLimited(150);
    expect(rateLimited).toBe(1);
    expect(calls.pause).toEqual([150]);
    // Redis down: its own budget holds the pause.
    const started = Date.now();
    await limiter.acquire(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('falls back to its own budget while Redis fails, says so once, and once when Redis is back', async () => {
    let redisUp = false;
    const { shared, calls } = fakeShared(() =>
      redisUp ? Promise.resolve({ granted: true }) : Promise.reject(new Error('Connection is closed.')),
    );
    const limiter = new ProviderRateLimiter({
      limits: { windowMs: 60_000, maxRequests: 2, maxTokens: 0 },
      shared,
      fallbackMs: 50,
    });
    expect(await limiter.acquire(1)).toMatchObject({ shared: false });
    expect(await limiter.acquire(1)).toMatchObject({ shared: false });
    // Its own window is full now: a third request would wait a minute.
    await expect(limiter.acquire(1, undefined, Date.now() + 100)).rejects.toBeInstanceOf(RateLimitWaitExceededError);
    expect(calls.acquire).toBe(1);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/Connection is closed.*per process/);
    redisUp = true;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await limiter.acquire(1)).toMatchObject({ shared: true });
    expect(await limiter.acquire(1)).toMatchObject({ shared: true });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(log).toHaveBeenCalledTimes(1);
  });

  it('treats a Redis that does not answer in time like one that is down', async () => {
    const { shared } = fakeShared(() => new Promise<Admission>(() => undefined));
    const limiter = new ProviderRateLimiter({ limits: unlimited, shared, redisTimeoutMs: 50 });
    expect(await limiter.acquire(1)).toMatchObject({ shared: false });
    expect(warn).toHaveBeenCalledTimes(1);
  });
});
