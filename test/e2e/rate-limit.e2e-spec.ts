import type { AddressInfo } from 'node:net';
import { AppRole } from '../../src/config/env.validation';
import { call, makeKey, Reply } from '../setup/auth-helpers';
import { ServiceProcess, startRedis, startService } from '../setup/processes';
import { createTestApp, TestApp, uniqueKb } from '../setup/test-app';

const LIMIT = 5;

/**
 * Rate limiting per caller, stored in Redis: a key's budget is spent across routes and
 * across API instances (a second instance runs as its own process on the same Redis
 * prefix), other keys and the health probes are unaffected, callers without valid
 * credentials are counted by IP, and when Redis stops answering requests go through.
 */
describe('Rate limiting (e2e)', () => {
  let t: TestApp;
  let base: string;
  let second: ServiceProcess | undefined;
  const kb = uniqueKb('ratelimit');
  const keys = {
    a: makeKey('limited-a', 'read'),
    b: makeKey('limited-b', 'read'),
    shared: makeKey('limited-shared', 'read'),
  };
  const env = () => ({ API_KEYS: JSON.stringify(Object.values(keys).map((k) => k.entry)), RATE_LIMIT_PER_MINUTE: String(LIMIT) });
  const get = (url: string, path: string, key?: { key: string }) => call(url, 'GET', path, { headers: key ? { 'X-API-Key': key.key } : {} });
  const expectLimited = (res: Reply) => {
    expect(res.status).toBe(429);
    expect(res.body).toEqual({ error: 'Too many requests', message: expect.stringContaining('Rate limit'), code: 'RATE_LIMITED', details: { limit: LIMIT, window_seconds: 60 } });
    const retryAfter = Number(res.headers['retry-after']);
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
  };

  beforeAll(async () => {
    t = await createTestApp(env(), AppRole.Api);
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await second?.stop();
    await t.close();
  });

  it('gives each key LIMIT requests a minute across routes, then 429 RATE_LIMITED with Retry-After', async () => {
    const paths = [`/api/v1/tasks?kb_id=${kb}`, '/api/v1/queues/info', `/api/v1/stats/tasks?kb_id=${kb}`];
    for (let i = 0; i < LIMIT; i++) {
      const res = await get(base, paths[i % paths.length], keys.a);
      expect(res.status).toBe(200);
      expect(res.headers['x-ratelimit-remaining']).toBe(String(LIMIT - i - 1));
    }
    expectLimited(await get(base, paths[0], keys.a));
    expectLimited(await get(base, paths[1], keys.a));
    // Another key has its own budget; health probes and metrics are never limited.
    expect((await get(base, paths[0], keys.b)).status).toBe(200);
    for (let i = 0; i < LIMIT + 2; i++) {
      expect((await get(base, '/health/live', keys.a)).status).toBe(200);
      expect((await get(base, '/metrics', keys.a)).status).toBe(200);
    }
  });

  it('counts failed credentials by IP, so keys cannot be guessed without limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 1; i++) statuses.push((await get(base, '/api/v1/queues', { key: `guess-${i}` })).status);
    expect(statuses).toEqual([...Array(LIMIT).fill(401), 429]);
  });

  it('holds one budget across two API instances sharing Redis', async () => {
    second = await startService('api', { ...env(), QUEUE_PREFIX: t.prefix });
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 2; i++) statuses.push((await get(i % 2 === 0 ? base : second.url, '/api/v1/queues/info', keys.shared)).status);
    expect(statuses).toEqual([...Array(LIMIT).fill(200), 429, 429]);
    expectLimited(await get(second.url, '/api/v1/queues/info', keys.shared));
  });

  it('lets requests through, and says so in the log, when Redis stops answering', async () => {
    const redis = await startRedis();
    const lonely = await startService('api', { ...env(), RATE_LIMIT_PER_MINUTE: '2', REDIS_URL: redis.url, QUEUE_PREFIX: `${t.prefix}_lonely` });
    // A server error shows its body and the service's log, so the cause is in the failure message.
    const status = (r: Reply) => (r.status >= 500 ? `${r.status} ${r.text}\n${lonely.output.join('').slice(-3000)}` : r.status);
    try {
      const path = `/api/v1/tasks?kb_id=${kb}`;
      const before = [await get(lonely.url, path, keys.a), await get(lonely.url, path, keys.a), await get(lonely.url, path, keys.a)].map(status);
      expect(before).toEqual([200, 200, 429]);
      await redis.stop();
      const after: Array<number | string> = [];
      for (let i = 0; i < 5; i++) after.push(status(await get(lonely.url, path, keys.a)));
      expect(after).toEqual([200, 200, 200, 200, 200]);
      expect(lonely.output.join('')).toContain('Rate limiting is not enforced while Redis does not answer');
    } finally {
      await lonely.stop();
      await redis.stop();
    }
  });
});
