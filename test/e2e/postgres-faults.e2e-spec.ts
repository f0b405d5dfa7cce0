import request from 'supertest';
import { taskRequest } from '../factories/task.factory';
import { TcpProxy } from '../setup/processes';
import { createTestApp, TestApp, uniqueKb, waitFor } from '../setup/test-app';
import { TEST_DATABASE_URL } from '../setup/test-env';

/**
 * PostgreSQL cut off by a TCP proxy in front of it: the API must answer 503
 * SERVICE_UNAVAILABLE (never 500, never hang), /health must say which part is down, and
 * everything must recover when the network does — without a restart.
 */
describe('PostgreSQL faults (e2e)', () => {
  let t: TestApp;
  const proxy = new TcpProxy({ host: '127.0.0.1', port: 5432 });
  const kb = uniqueKb('pgcut');

  beforeAll(async () => {
    const port = await proxy.start();
    const url = new URL(TEST_DATABASE_URL);
    url.port = String(port);
    t = await createTestApp({ DATABASE_URL: url.toString() });
  });

  afterAll(async () => {
    await proxy.restore().catch(() => undefined);
    await t.close();
    await proxy.cut();
  });

  it('answers 503 while PostgreSQL is unreachable and recovers when it is back', async () => {
    const before = await request(t.http)
      .post('/api/v1/tasks')
      .send(taskRequest({ kb_id: kb }))
      .expect(201);

    await proxy.cut();
    const create = await request(t.http)
      .post('/api/v1/tasks')
      .send(taskRequest({ kb_id: kb }));
    expect(create.status).toBe(503);
    expect(create.body).toMatchObject({ code: 'SERVICE_UNAVAILABLE', details: { component: 'database' } });
    expect(JSON.stringify(create.body)).not.toMatch(/postgres(ql)?:\/\/|SELECT|INSERT/i);
    const get = await request(t.http).get(`/api/v1/tasks/${before.body.id}`);
    expect(get.status).toBe(503);
    const list = await request(t.http).get('/api/v1/tasks').query({ kb_id: kb });
    expect(list.status).toBe(503);
    const health = await request(t.http).get('/health').expect(503);
    expect(health.body.status).toBe('unhealthy');
    expect(health.body.details.database.status).toBe('unhealthy');
    expect(health.body.details.redis.status).toBe('healthy');
    await request(t.http).get('/health/ready').expect(503);
    await request(t.http).get('/health/live').expect(200);

    await proxy.restore();
    const after = await waitFor(
      () =>
        request(t.http)
          .post('/api/v1/tasks')
          .send(taskRequest({ kb_id: kb })),
      (res) => res.status === 201,
      { timeoutMs: 15000, intervalMs: 200, what: 'creates to succeed again' },
    );
    const done = await waitFor(
      () => t.prisma.task.findMany({ where: { kbId: kb } }),
      (rows) => rows.length === 2 && rows.every((r) => r.status === 'completed'),
      { timeoutMs: 20000, what: 'both tasks to complete' },
    );
    expect(done.map((r) => r.id).sort()).toEqual([before.body.id, after.body.id].sort());
    await request(t.http).get('/health').expect(200);
    console.log(
      '[faults] PostgreSQL cut: creates answered 503 SERVICE_UNAVAILABLE (not 500), recovered without restart, lost 0 accepted tasks',
    );
  });
});
