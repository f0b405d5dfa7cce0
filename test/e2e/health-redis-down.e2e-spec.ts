import request from 'supertest';
import { TaskQueueService } from '../../src/queues/task-queue.service';
import { taskRequest } from '../factories/task.factory';
import { freePort, startRedis } from '../setup/processes';
import { createTestApp, TestApp, uniqueKb, waitFor } from '../setup/test-app';

type Body = Record<string, any>;

/**
 * PostgreSQL is the truth: with Redis gone /health says so (503), yet tasks are still
 * accepted and readable, and once Redis is back the reconciler dispatches them.
 */
describe('Health and task intake while Redis is down (e2e)', () => {
  let t: TestApp;
  let port: number;
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  const kb = uniqueKb('redisdown');

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    t = await createTestApp({ REDIS_URL: `redis://127.0.0.1:${port}` });
  });

  /** Whatever an earlier test left, Redis runs again on the same port. */
  const ensureRedis = async () => {
    if (redis?.child.exitCode !== null || redis.child.signalCode !== null) redis = await startRedis(port);
  };

  afterAll(async () => {
    await ensureRedis();
    const open = await t.prisma.task.findMany({ where: { kbId: kb, status: { in: ['queued', 'processing'] } } });
    for (const task of open) await request(t.http).delete(`/api/v1/tasks/${task.id}`);
    await t.close();
    await redis?.stop('SIGKILL');
  });

  it('reports Redis down with 503, keeps accepting tasks, and dispatches them once Redis is back', async () => {
    const up = await request(t.http).get('/health').expect(200);
    expect(up.body).toMatchObject({ status: 'healthy', details: { redis: { status: 'healthy' } } });

    await redis?.stop('SIGKILL');

    const down = await waitFor(
      () => request(t.http).get('/health'),
      (res) => res.status === 503,
      { timeoutMs: 10000, what: '/health to notice Redis is gone' },
    );
    expect(down.body).toMatchObject({
      status: 'unhealthy',
      service: 'task-manager',
      details: {
        database: { status: 'healthy' },
        redis: { status: 'unhealthy', error: expect.any(String) },
        queue: { status: 'unhealthy' },
      },
    });
    const notReady = await request(t.http).get('/health/ready').expect(503);
    expect(notReady.body.details.redis.status).toBe('unhealthy');
    await request(t.http).get('/health/live').expect(200);

    // The task is stored in PostgreSQL and answered at once, not hung on Redis.
    const started = Date.now();
    const created = await request(t.http)
      .post('/api/v1/tasks')
      .send(taskRequest({ kb_id: kb }))
      .expect(201);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(created.body).toMatchObject({ status: 'queued', kb_id: kb });
    const id = created.body.id as string;
    const fetched = await request(t.http).get(`/api/v1/tasks/${id}`).expect(200);
    expect(fetched.body).toMatchObject({ id, status: 'queued' });
    expect(await t.prisma.task.findUnique({ where: { id } })).toMatchObject({ status: 'queued', attempt: 0 });

    // Queue-backed endpoints answer 503 in the error shape instead of hanging.
    const queueInfo = await request(t.http).get('/api/v1/queues/info').expect(503);
    expect(queueInfo.body).toMatchObject({ code: 'SERVICE_UNAVAILABLE', details: { component: 'redis' } });

    // Back on the same port, empty: nothing in Redis knows the task until the reconciler redispatches it.
    redis = await startRedis(port);
    const done = await waitFor(
      async () => (await request(t.http).get(`/api/v1/tasks/${id}`).expect(200)).body as Body,
      (task) => task.status === 'completed',
      { timeoutMs: 20000, intervalMs: 200, what: 'the task to be dispatched and completed after Redis returned' },
    );
    expect(done).toMatchObject({
      progress: 100,
      retry_count: 0,
      result: expect.objectContaining({ status: 'healthy' }),
    });
    expect((await t.prisma.task.findUnique({ where: { id } }))?.attempt).toBe(1);

    const healthy = await waitFor(
      () => request(t.http).get('/health'),
      (res) => res.status === 200,
      { timeoutMs: 10000, what: '/health to recover' },
    );
    expect(healthy.body).toMatchObject({
      status: 'healthy',
      details: {
        database: { status: 'healthy' },
        redis: { status: 'healthy', size: expect.any(Number) },
        queue: { status: 'healthy' },
      },
    });
  });

  it('still stops a running task on cancel after Redis came back (the cancel channel is subscribed again)', async () => {
    await ensureRedis();
    const created = await request(t.http)
      .post('/api/v1/tasks')
      .send(taskRequest({ kb_id: kb, payload: { samples: 200, interval_ms: 100 } }))
      .expect(201);
    const id = created.body.id as string;
    await waitFor(
      async () => (await request(t.http).get(`/api/v1/tasks/${id}`).expect(200)).body as Body,
      (task) => task.status === 'processing',
      { what: 'the long task to run' },
    );
    await request(t.http).delete(`/api/v1/tasks/${id}`).expect(200);
    const queue = t.app.get(TaskQueueService).queue('health_check');
    await waitFor(
      () => queue.getJobState(id),
      (state) => state === 'failed',
      { timeoutMs: 2000, what: 'the running job to stop' },
    );
    expect((await queue.getJob(id))?.failedReason).toBe('Task was canceled');
  });
});
