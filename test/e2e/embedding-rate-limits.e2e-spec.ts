import Redis from 'ioredis';
import request from 'supertest';
import { budgetKeys } from '../../src/provider-limits/redis-request-budget';
import { FakeEmbeddingProvider } from '../setup/fake-embedding-provider';
import { parse, promtoolProblems, sum } from '../setup/prometheus-text';
import { createTestApp, TestApp, uniqueKb, waitFor, waitForSettled } from '../setup/test-app';
import { TEST_REDIS_URL } from '../setup/test-env';

const WAIT = 'task_manager_embedding_throttle_wait_seconds';
const RATE_LIMITED = 'task_manager_embedding_rate_limited_total';

// The real worker embedding through an OpenAI-compatible provider that refuses with 429:
// the wait happens inside the attempt, for every process alike, and shows in /metrics.
describe('embedding_generation against a rate-limited provider (e2e)', () => {
  let t: TestApp;
  let provider: FakeEmbeddingProvider;
  let redis: Redis;

  beforeAll(async () => {
    provider = await new FakeEmbeddingProvider(8).start();
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    t = await createTestApp({
      EMBEDDING_PROVIDER: 'openai',
      EMBEDDING_BASE_URL: provider.url,
      EMBEDDING_MODEL: 'fake-model',
      EMBEDDING_DIMENSION: '8',
      EMBEDDING_REQUESTS_PER_MINUTE: '1000',
      EMBEDDING_TOKENS_PER_MINUTE: '100000',
    });
  });

  afterAll(async () => {
    await t.close();
    await provider.stop();
    redis.disconnect();
  });

  const scrape = async () => (await request(t.http).get('/metrics').expect(200)).text;
  const createEmbedding = async (texts: string[]) =>
    (
      await request(t.http)
        .post('/api/v1/tasks')
        .send({ task_type: 'embedding_generation', kb_id: uniqueKb('ratelimit'), payload: { texts, batch_size: 2 } })
        .expect(201)
    ).body as { id: string };

  it('waits out a 429 inside the attempt: the task completes on its first attempt and the metrics show the wait', async () => {
    const before = parse(await scrape());
    provider.reset();
    provider.refuseNext(1, 1);
    const task = await waitForSettled(t.http, (await createEmbedding(['first text', 'second text', 'third'])).id);
    expect(task).toMatchObject({ status: 'completed', retry_count: 0 });
    expect(task.result).toMatchObject({ model: 'fake-model', dimension: 8, embedded: 3 });

    const [refused, ...accepted] = provider.requests;
    expect(refused.status).toBe(429);
    expect(accepted.map((r) => r.status)).toEqual([200, 200]);
    expect(accepted[0].at).toBeGreaterThanOrEqual(refused.at + 1000 - 5);

    // The shared budget holds all three requests sent this minute, under its hash-tagged keys.
    expect(await redis.zcard(budgetKeys(t.prefix, 'embedding-budget').log)).toBe(3);

    const text = await scrape();
    const after = parse(text);
    const delta = (name: string) => sum(after, name) - sum(before, name);
    expect(delta(RATE_LIMITED)).toBe(1);
    // Three admissions: the refused request, its resend after the reset, the second batch.
    expect(delta(`${WAIT}_count`)).toBe(3);
    expect(delta(`${WAIT}_sum`)).toBeGreaterThanOrEqual(0.9);
    expect(promtoolProblems(text)).toEqual({ status: 0, problems: '' });
  });

  it('ends a task cancelled while it waits for the reset, without waiting the reset out', async () => {
    provider.reset();
    provider.refuseNext(1, 60);
    const { id } = await createEmbedding(['waits a minute']);
    await waitFor(
      () => Promise.resolve(provider.refused().length),
      (refused) => refused === 1,
      { what: 'the 429' },
    );
    const busySlots = async () => sum(parse(await scrape()), 'task_manager_worker_slots', { state: 'busy' });
    await waitFor(busySlots, (busy) => busy >= 1, { what: 'the task waiting in a worker slot' });
    await request(t.http).delete(`/api/v1/tasks/${id}`).expect(200);
    expect((await waitForSettled(t.http, id, 10_000)).status).toBe('cancelled');
    // The slot is free long before the minute's pause ends, and nothing was sent meanwhile.
    await waitFor(busySlots, (busy) => busy === 0, { what: 'the worker slot to be free', timeoutMs: 10_000 });
    expect(provider.requests).toHaveLength(1);
  });

  it('answers a vector search whose query cannot be embedded in time with 503 and Retry-After, not a 500 or a 60 s wait', async () => {
    provider.reset();
    // The previous test left the shared budget paused for a minute: start from an open one.
    await redis.del(...Object.values(budgetKeys(t.prefix, 'embedding-budget')));
    const kbId = uniqueKb('ratelimit-search');
    const { id } = (
      await request(t.http)
        .post('/api/v1/tasks')
        .send({
          task_type: 'embedding_generation',
          kb_id: kbId,
          payload: { texts: ['a stored chunk'], store: true, ids: ['c1'] },
        })
        .expect(201)
    ).body as { id: string };
    expect((await waitForSettled(t.http, id)).status).toBe('completed');

    provider.refuseNext(1, 60);
    const started = Date.now();
    const res = await request(t.http).get(`/api/v1/kbs/${kbId}/search`).query({ q: 'stored', mode: 'vector' });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    // Bounded by the query's own deadline (10 s), far below the 60 s reset the provider asked for.
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 40_000);
});
