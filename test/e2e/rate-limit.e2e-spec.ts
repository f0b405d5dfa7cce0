import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { AppRole } from '../../src/config/env.validation';
import { call, makeKey, Reply } from '../setup/auth-helpers';
import { ServiceProcess, startRedis, startService } from '../setup/processes';
import { createTestApp, TestApp, uniqueKb } from '../setup/test-app';

const LIMIT = 5;
const FAILURES = 3;
const FAILURE_WINDOW_SECONDS = 60;

/**
 * Rate limiting per caller, stored in Redis: a key's budget is spent across routes and
 * across API instances (a second instance runs as its own process on the same Redis
 * prefix), other keys and the health probes are unaffected; failed credentials are limited
 * per IP on every route and page; when Redis stops answering, limited requests get 503;
 * without authentication there is no per-IP limit unless one is configured.
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
  // One admin key per failed-authentication case, so no case spends another's budget.
  const admins = [0, 1, 2, 3].map((i) => makeKey(`limited-admin-${i}`, 'admin'));
  const env = () => ({
    API_KEYS: JSON.stringify([...Object.values(keys), ...admins].map((k) => k.entry)),
    RATE_LIMIT_PER_MINUTE: String(LIMIT),
    AUTH_FAILURE_LIMIT: String(FAILURES),
    AUTH_FAILURE_WINDOW_SECONDS: String(FAILURE_WINDOW_SECONDS),
    // X-Forwarded-For names the client, so each case can come from its own address.
    TRUST_PROXY: 'true',
  });
  const get = (url: string, path: string, key?: { key: string }) =>
    call(url, 'GET', path, { headers: key ? { 'X-API-Key': key.key } : {} });
  const expectLimited = (res: Reply) => {
    expect(res.status).toBe(429);
    expect(res.body).toEqual({
      error: 'Too many requests',
      message: expect.stringContaining('Rate limit'),
      code: 'RATE_LIMITED',
      details: { limit: LIMIT, window_seconds: 60 },
    });
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

  describe.each([
    ['the API', '/api/v1/queues/info', 0],
    ['the dashboard', '/dashboard', 1],
    ["Bull Board's page", '/admin/queues', 2],
    ["Bull Board's API", '/admin/queues/api/queues', 3],
  ] as const)('failed authentication on %s', (_name, path, n) => {
    it(`is limited per IP: ${FAILURES} wrong keys get 401, then the address gets 429 with Retry-After, right keys included`, async () => {
      const from = (ip: string, password: string) => ({
        'X-Forwarded-For': ip,
        Authorization: `Basic ${Buffer.from(`guess:${password}`).toString('base64')}`,
      });
      const guesser = `198.51.100.${10 + n}`;
      const statuses: number[] = [];
      for (let i = 0; i < FAILURES + 2; i++)
        statuses.push((await call(base, 'GET', path, { headers: from(guesser, `guess-${i}`) })).status);
      expect(statuses).toEqual([...Array(FAILURES).fill(401), 429, 429]);

      // A right key from that address waits too, or a correct guess would stand out.
      const right = await call(base, 'GET', path, { headers: from(guesser, admins[n].key) });
      expect(right.status).toBe(429);
      expect(right.body).toEqual({
        error: 'Too many requests',
        message: expect.stringContaining('failed authentications'),
        code: 'RATE_LIMITED',
        details: { limit: FAILURES, window_seconds: FAILURE_WINDOW_SECONDS, reason: 'failed_authentication' },
      });
      const retryAfter = Number(right.headers['retry-after']);
      expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= FAILURE_WINDOW_SECONDS).toBe(true);

      // Another address, and a request without credentials (a browser's first), are not affected.
      expect((await call(base, 'GET', path, { headers: from(`198.51.100.${20 + n}`, admins[n].key) })).status).toBe(
        200,
      );
      expect((await call(base, 'GET', path, { headers: { 'X-Forwarded-For': guesser } })).status).toBe(401);
    });
  });

  it('holds one budget across two API instances sharing Redis', async () => {
    second = await startService('api', { ...env(), QUEUE_PREFIX: t.prefix });
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 2; i++)
      statuses.push((await get(i % 2 === 0 ? base : second.url, '/api/v1/queues/info', keys.shared)).status);
    expect(statuses).toEqual([...Array(LIMIT).fill(200), 429, 429]);
    expectLimited(await get(second.url, '/api/v1/queues/info', keys.shared));
  });

  it('answers 503 with Retry-After, and says so in the log, when Redis stops answering', async () => {
    const redis = await startRedis();
    const lonely = await startService('api', {
      ...env(),
      RATE_LIMIT_PER_MINUTE: '2',
      REDIS_URL: redis.url,
      QUEUE_PREFIX: `${t.prefix}_lonely`,
    });
    // A server error shows its body and the service's log, so the cause is in the failure message.
    const status = (r: Reply) =>
      r.status === 500 ? `${r.status} ${r.text}\n${lonely.output.join('').slice(-3000)}` : r.status;
    try {
      const path = `/api/v1/tasks?kb_id=${kb}`;
      const before = [
        await get(lonely.url, path, keys.a),
        await get(lonely.url, path, keys.a),
        await get(lonely.url, path, keys.a),
      ].map(status);
      expect(before).toEqual([200, 200, 429]);
      await redis.stop();
      const after: (number | string)[] = [];
      for (const key of [keys.a, keys.b, { key: 'a-wrong-key' }]) {
        const res = await get(lonely.url, path, key);
        after.push(status(res));
        expect(res.body).toEqual({
          error: 'Service unavailable',
          message: expect.any(String),
          code: 'SERVICE_UNAVAILABLE',
          details: { component: 'redis' },
        });
        expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      }
      // Right keys, and wrong ones (their failures cannot be counted): none goes through unlimited.
      expect(after).toEqual([503, 503, 503]);
      expect((await get(lonely.url, '/health/live')).status).toBe(200);
      expect(lonely.output.join('')).toContain('Rate limits cannot be checked while Redis does not answer');
    } finally {
      await lonely.stop();
      await redis.stop();
    }
  });

  describe('without authentication', () => {
    const burst = async (app: TestApp, n: number) => {
      const statuses: number[] = [];
      for (let i = 0; i < n; i++) statuses.push((await request(app.http).get('/api/v1/queues/info')).status);
      return statuses;
    };
    const open = (extra: Record<string, string>) =>
      createTestApp({ API_KEYS: '', RATE_LIMIT_PER_MINUTE: String(LIMIT), ...extra }, AppRole.Api);

    it('limits no IP by default, so the main caller is never throttled (RATE_LIMIT_PER_MINUTE is per key)', async () => {
      const app = await open({ RATE_LIMIT_PER_IP_PER_MINUTE: '0' });
      try {
        expect(await burst(app, LIMIT * 3)).toEqual(Array(LIMIT * 3).fill(200));
        expect((await request(app.http).get('/api/v1/queues/info')).headers['x-ratelimit-limit']).toBeUndefined();
      } finally {
        await app.close();
      }
    });

    it('limits each IP when RATE_LIMIT_PER_IP_PER_MINUTE is set', async () => {
      const app = await open({ RATE_LIMIT_PER_IP_PER_MINUTE: String(LIMIT) });
      try {
        expect(await burst(app, LIMIT + 1)).toEqual([...Array(LIMIT).fill(200), 429]);
      } finally {
        await app.close();
      }
    });
  });
});
