import { Client } from 'pg';
import request from 'supertest';
import { taskRequest } from '../factories/task.factory';
import { createTestApp, TestApp, uniqueKb, waitFor } from '../setup/test-app';
import { TEST_DATABASE_URL } from '../setup/test-env';

const FAR_FUTURE = '2999-01-01T00:00:00Z';

describe('Backpressure (e2e)', () => {
  let t: TestApp;
  const kb = uniqueKb('full');

  beforeAll(async () => {
    // The limit counts every queued task in the database, so it is set just above what is there now.
    const client = new Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM tasks WHERE status = 'queued'");
    await client.end();
    t = await createTestApp({ MAX_QUEUED_TASKS: String(Number(rows[0].n) + 5) });
  });

  afterAll(async () => {
    await t.close();
  });

  it('refuses creates past the limit with 503 QUEUE_FULL and Retry-After, whole batches included', async () => {
    const waiting = taskRequest({ kb_id: kb, schedule_for: FAR_FUTURE });
    await request(t.http).post('/api/v1/tasks/batch').send([waiting, waiting, waiting]).expect(201);

    const tooMany = await request(t.http).post('/api/v1/tasks/batch').send([waiting, waiting, waiting]).expect(503);
    expect(tooMany.body).toMatchObject({ code: 'QUEUE_FULL', details: { limit: expect.any(Number) } });
    expect(tooMany.headers['retry-after']).toBe('5');
    expect(await t.prisma.task.count({ where: { kbId: kb } })).toBe(3);

    await request(t.http).post('/api/v1/tasks').send(waiting).expect(201);
    await request(t.http).post('/api/v1/tasks').send(waiting).expect(201);
    const full = await request(t.http).post('/api/v1/tasks').send(waiting).expect(503);
    expect(full.body.code).toBe('QUEUE_FULL');
    expect(await t.prisma.task.count({ where: { kbId: kb } })).toBe(5);
  });

  it('admits again once waiting tasks leave the queue', async () => {
    const queued = await t.prisma.task.findMany({ where: { kbId: kb, status: 'queued' }, select: { id: true } });
    for (const { id } of queued) await request(t.http).delete(`/api/v1/tasks/${id}`).expect(200);
    // The cached count is refreshed at most once a second: poll until admitted.
    const admitted = await waitFor(
      () =>
        request(t.http)
          .post('/api/v1/tasks')
          .send(taskRequest({ kb_id: kb })),
      (res) => res.status === 201,
      { intervalMs: 200, what: 'a create to be admitted' },
    );
    expect(admitted.body.status).toBe('queued');
  });
});
