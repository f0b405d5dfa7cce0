import Redis from 'ioredis';
import request from 'supertest';
import { taskRequest } from '../factories/task.factory';
import { startRedis } from '../setup/processes';
import { createTestApp, TestApp, uniqueKb, waitFor } from '../setup/test-app';

/**
 * Redis is only the dispatcher: these tests run the service against a redis-server of
 * their own, flush it and kill it mid-run, and check that every accepted task still
 * completes — rebuilt from PostgreSQL by the reconciler.
 */
describe('Redis faults (e2e)', () => {
  let t: TestApp;
  let redis: Awaited<ReturnType<typeof startRedis>>;

  beforeAll(async () => {
    redis = await startRedis();
    t = await createTestApp({ REDIS_URL: redis.url, RECONCILE_INTERVAL_MS: '1000', WORKER_CONCURRENCY: '20' });
  });

  afterAll(async () => {
    await t.close();
    await redis.stop('SIGKILL');
  });

  const counts = async (kb: string) => {
    const rows = await t.prisma.task.groupBy({ by: ['status'], where: { kbId: kb }, _count: { _all: true } });
    return Object.fromEntries(rows.map((r) => [r.status, r._count._all])) as Record<string, number>;
  };
  const batch = (kb: string, n: number, extra: Record<string, unknown> = {}) =>
    request(t.http)
      .post('/api/v1/tasks/batch')
      .send(Array.from({ length: n }, () => taskRequest({ kb_id: kb, payload: { checks: ['database'] }, ...extra })))
      .expect(201);

  it('completes every task when Redis is flushed mid-run', async () => {
    const kb = uniqueKb('flush');
    const soon = new Date(Date.now() + 1500).toISOString();
    for (let i = 0; i < 4; i++) await batch(kb, 100);
    await batch(kb, 100, { schedule_for: soon });
    await waitFor(
      () => counts(kb),
      (c) => (c.completed ?? 0) >= 50,
      { what: 'some tasks to complete' },
    );
    const admin = new Redis(redis.port, '127.0.0.1');
    const before = await counts(kb);
    await admin.flushall();
    admin.disconnect();
    const after = await waitFor(
      () => counts(kb),
      (c) => c.completed === 500,
      { timeoutMs: 60000, what: 'all 500 tasks to complete' },
    );
    expect(after).toEqual({ completed: 500 });
    const attempts = await t.prisma.task.aggregate({ where: { kbId: kb }, _max: { attempt: true } });
    console.log(
      `[faults] Redis FLUSHALL mid-run: 500 tasks, flushed with ${500 - (before.completed ?? 0)} unfinished, ` +
        `completed 500, lost 0, max attempts ${attempts._max.attempt}`,
    );
  });

  it('completes every task when Redis dies and comes back empty, including tasks created while it was down', async () => {
    const kb = uniqueKb('restart');
    await batch(kb, 100, { schedule_for: new Date(Date.now() + 2000).toISOString() });
    await redis.stop('SIGKILL');
    const whileDown = [];
    for (let i = 0; i < 20; i++) {
      const res = await request(t.http)
        .post('/api/v1/tasks')
        .send(taskRequest({ kb_id: kb, payload: { checks: ['database'] } }));
      whileDown.push(res.status);
    }
    expect(whileDown).toEqual(Array(20).fill(201));
    redis = await startRedis(redis.port);
    const after = await waitFor(
      () => counts(kb),
      (c) => c.completed === 120,
      { timeoutMs: 60000, what: 'all 120 tasks to complete' },
    );
    expect(after).toEqual({ completed: 120 });
    console.log(
      '[faults] Redis killed and restarted empty: 120 tasks (20 created while down, all 201), completed 120, lost 0',
    );
  });
});
