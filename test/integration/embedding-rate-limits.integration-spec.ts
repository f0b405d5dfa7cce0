import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import Redis, { Cluster } from 'ioredis';
import { OpenAiCompatibleEmbedder } from '../../src/pipeline/embedding/openai-compatible-embedder';
import { ProviderRateLimiter } from '../../src/provider-limits/provider-rate-limiter';
import { budgetKeys, RedisRequestBudget } from '../../src/provider-limits/redis-request-budget';
import { FakeEmbeddingProvider, type FakeProviderLimits } from '../setup/fake-embedding-provider';
import { waitFor } from '../setup/helpers';
import { freePort, startRedisCluster } from '../setup/processes';
import { TEST_REDIS_URL } from '../setup/test-env';

/** A short window stands in for the provider's minute, so the test takes seconds. */
const WINDOW_MS = 1000;
/**
 * Requests reach the provider a little after the limiter admits them, and not all equally
 * late: on two cores shared with other work, a whole admitted batch can be held up by a
 * stalled event loop while the next one goes out on time. The fake provider counts over a
 * window this much shorter, so that jitter cannot fail the test, while a limiter that lets
 * twice the limit through (one budget per process) still does.
 */
const ARRIVAL_SLACK_MS = 300;
const PROVIDER_WINDOW_MS = WINDOW_MS - ARRIVAL_SLACK_MS;
const BUDGET = 'embedding-budget';

interface Limits {
  maxRequests: number;
  maxTokens: number;
}

describe('Embedding provider limits shared through Redis (integration)', () => {
  let provider: FakeEmbeddingProvider;
  let admin: Redis;
  let prefix: string;
  const clients: Redis[] = [];

  beforeAll(async () => {
    provider = await new FakeEmbeddingProvider(4).start();
    admin = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  });

  afterAll(async () => {
    await provider.stop();
    admin.disconnect();
  });

  beforeEach(() => {
    prefix = `tmtest_${randomBytes(4).toString('hex')}`;
  });

  afterEach(async () => {
    const keys = budgetKeys(prefix, BUDGET);
    await admin.del(keys.log, keys.tokens, keys.paused);
    for (const client of clients.splice(0)) client.disconnect();
    jest.restoreAllMocks();
  });

  /**
   * One worker process as the service builds it: its own Redis connection (fail-fast, like
   * the service's), its own budget, limiter and embedder, sharing only Redis and the prefix.
   */
  async function workerProcess(limits: Limits, redisUrl = TEST_REDIS_URL): Promise<OpenAiCompatibleEmbedder> {
    const redis = new Redis(redisUrl, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    redis.on('error', () => undefined);
    clients.push(redis);
    if (redisUrl === TEST_REDIS_URL) await redis.connect();
    const windowLimits = { windowMs: WINDOW_MS, ...limits };
    const limiter = new ProviderRateLimiter({
      limits: windowLimits,
      shared: new RedisRequestBudget(redis, prefix, BUDGET, windowLimits),
      redisTimeoutMs: 500,
      maxPollMs: 100,
    });
    return new OpenAiCompatibleEmbedder({
      baseUrl: provider.url,
      model: 'fake',
      dimension: 4,
      limiter,
      maxThrottleWaitMs: 20_000,
    });
  }

  const embedAll = (processes: OpenAiCompatibleEmbedder[], count: number, text: (i: number) => string) =>
    Promise.all(Array.from({ length: count }, (_, i) => processes[i % processes.length].embed([text(i)])));

  /**
   * The first burst of requests opens a connection each (fetch keeps them for the next ones)
   * and runs code not yet compiled, so it reaches the provider late and unevenly, while the
   * next window's burst goes out on time. One unlimited burst first, then the provider
   * forgets it and takes the limits of the measured run.
   */
  async function warmedUp(limits: FakeProviderLimits): Promise<void> {
    provider.reset();
    const unlimited = new OpenAiCompatibleEmbedder({ baseUrl: provider.url, model: 'fake', dimension: 4 });
    await embedAll([unlimited], 50, (i) => `warm-up ${i}`);
    provider.reset(limits);
  }

  it('(a) keeps 50 concurrent calls from two processes within the requests per window', async () => {
    const processes = await Promise.all([0, 1].map(() => workerProcess({ maxRequests: 20, maxTokens: 0 })));
    await warmedUp({ windowMs: PROVIDER_WINDOW_MS, maxRequests: 20, maxTokens: 0 });
    const started = Date.now();
    const vectors = await embedAll(processes, 50, (i) => `text number ${i}`);
    expect(vectors).toHaveLength(50);
    expect(provider.refused()).toEqual([]);
    expect(provider.accepted()).toHaveLength(50);
    expect(provider.peak(PROVIDER_WINDOW_MS).requests).toBeLessThanOrEqual(20);
    // The budget spread them out: 50 at 20 a window start in three windows.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2 * WINDOW_MS - 20);
  });

  it('(b) after one 429 with Retry-After, no process sends before the reset', async () => {
    provider.reset();
    provider.refuseNext(1, 1);
    const [first, second] = await Promise.all([0, 1].map(() => workerProcess({ maxRequests: 0, maxTokens: 0 })));
    const refusedOne = first.embed(['refused first']);
    // Once the first process has read the 429, the pause is in Redis; then everyone tries at once.
    const { paused } = budgetKeys(prefix, BUDGET);
    const pauseLeft = await waitFor(
      () => admin.pttl(paused),
      (ttl) => ttl > 0,
      { what: 'the pause in Redis' },
    );
    expect(pauseLeft).toBeGreaterThan(500);
    const refusedAt = provider.refused()[0].at;
    await Promise.all([refusedOne, embedAll([first, second], 10, (i) => `during the pause ${i}`)]);
    expect(provider.refused()).toHaveLength(1);
    const accepted = provider.accepted();
    expect(accepted).toHaveLength(11);
    // Redis' clock and this process's are the same machine's; allow their millisecond rounding.
    expect(Math.min(...accepted.map((r) => r.at))).toBeGreaterThanOrEqual(refusedAt + 1000 - 5);
  });

  it('(c) keeps to the tokens per window', async () => {
    const processes = await Promise.all([0, 1].map(() => workerProcess({ maxRequests: 0, maxTokens: 400 })));
    await warmedUp({ windowMs: PROVIDER_WINDOW_MS, maxRequests: 0, maxTokens: 400 });
    const started = Date.now();
    // 400 ASCII characters: 100 tokens by the estimate and by the provider alike.
    await embedAll(processes, 8, (i) => `${i}`.padEnd(400, '.'));
    expect(provider.refused()).toEqual([]);
    expect(provider.peak(PROVIDER_WINDOW_MS).tokens).toBeLessThanOrEqual(400);
    // Four fit in a window: the other four wait for the next one.
    expect(Date.now() - started).toBeGreaterThanOrEqual(WINDOW_MS - 20);
  });

  it('(c) charges what the provider reports, so an estimate on the high side does not hold requests back', async () => {
    const processes = await Promise.all([0, 1].map(() => workerProcess({ maxRequests: 0, maxTokens: 400 })));
    await warmedUp({ windowMs: PROVIDER_WINDOW_MS, maxRequests: 0, maxTokens: 400 });
    const started = Date.now();
    // 100 non-ASCII characters: estimated 100 tokens, reported 25; 16 fit in one window only once settled.
    await embedAll(processes, 16, (i) => `${i}`.padEnd(100, 'é'));
    expect(provider.refused()).toEqual([]);
    expect(provider.peak(PROVIDER_WINDOW_MS).tokens).toBeLessThanOrEqual(400);
    // Charged the estimate, they would need four windows.
    expect(Date.now() - started).toBeLessThan(2 * WINDOW_MS);
  });

  it('falls back to a budget per process when Redis does not answer, and says so once', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    provider.reset({ windowMs: PROVIDER_WINDOW_MS, maxRequests: 3, maxTokens: 0 });
    const alone = await workerProcess({ maxRequests: 3, maxTokens: 0 }, `redis://127.0.0.1:${await freePort()}`);
    const started = Date.now();
    await embedAll([alone], 6, (i) => `without redis ${i}`);
    expect(provider.refused()).toEqual([]);
    expect(provider.peak(PROVIDER_WINDOW_MS).requests).toBeLessThanOrEqual(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(WINDOW_MS - 20);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/rate limits now hold per process/);
  });

  it('keeps one budget on a Redis Cluster: the hash tag puts its keys in one slot', async () => {
    const cluster = await startRedisCluster(3);
    try {
      // The service hash-tags QUEUE_PREFIX itself in cluster mode; the budget's keys must still share one slot.
      prefix = `{${prefix}}`;
      provider.reset({ windowMs: PROVIDER_WINDOW_MS, maxRequests: 4, maxTokens: 400 });
      const processes = [0, 1].map(() => {
        const client = new Cluster(
          cluster.ports.map((port) => ({ host: '127.0.0.1', port })),
          { enableOfflineQueue: true },
        );
        client.on('error', () => undefined);
        const limits = { windowMs: WINDOW_MS, maxRequests: 4, maxTokens: 400 };
        const limiter = new ProviderRateLimiter({
          limits,
          shared: new RedisRequestBudget(client, prefix, BUDGET, limits),
          maxPollMs: 100,
        });
        return {
          client,
          embedder: new OpenAiCompatibleEmbedder({ baseUrl: provider.url, model: 'fake', dimension: 4, limiter }),
        };
      });
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      try {
        const started = Date.now();
        await embedAll(
          processes.map((p) => p.embedder),
          8,
          (i) => `on the cluster ${i}`,
        );
        expect(warn).not.toHaveBeenCalled();
        expect(provider.refused()).toEqual([]);
        expect(provider.peak(PROVIDER_WINDOW_MS).requests).toBeLessThanOrEqual(4);
        expect(Date.now() - started).toBeGreaterThanOrEqual(WINDOW_MS - 20);
        expect(await processes[0].client.zcard(budgetKeys(prefix, BUDGET).log)).toBeGreaterThan(0);
      } finally {
        for (const p of processes) p.client.disconnect();
      }
    } finally {
      await cluster.stop();
    }
  });
});
