import request from 'supertest';
import { taskRequest } from '../factories/task.factory';
import { createTestApp, TestApp, uniqueKb, waitFor } from '../setup/test-app';

type TaskBody = Record<string, any>;

/**
 * One worker slot: while a blocker runs, everything else waits, so the order in which the
 * waiting tasks start is decided by priority alone.
 */
describe('Task priority (e2e, WORKER_CONCURRENCY=1)', () => {
  let t: TestApp;
  const kb = uniqueKb('priority');

  const create = async (overrides: Record<string, unknown>): Promise<TaskBody> =>
    (
      await request(t.http)
        .post('/api/v1/tasks')
        .send(taskRequest({ kb_id: kb, ...overrides }))
        .expect(201)
    ).body;

  const get = async (id: string): Promise<TaskBody> =>
    (await request(t.http).get(`/api/v1/tasks/${id}`).expect(200)).body;

  const queueInfo = async (query: Record<string, string>) =>
    (await request(t.http).get('/api/v1/queues/info').query(query).expect(200)).body as {
      queue_size: number;
      queue_key: string;
    };

  beforeAll(async () => {
    t = await createTestApp({ WORKER_CONCURRENCY: '1' });
    // Queue positions count every due health_check in the database: wait out any that another file
    // left queued (this app's reconciler dispatches and runs them).
    await waitFor(
      () =>
        t.prisma.task.count({
          where: {
            taskType: 'health_check',
            status: 'queued',
            OR: [{ scheduleFor: null }, { scheduleFor: { lte: new Date() } }],
          },
        }),
      (count) => count === 0,
      { timeoutMs: 20000, what: 'no other health_check to be waiting' },
    );
  });

  afterAll(async () => {
    const open = await t.prisma.task.findMany({ where: { kbId: kb, status: { in: ['queued', 'processing'] } } });
    for (const task of open) await request(t.http).delete(`/api/v1/tasks/${task.id}`);
    await t.close();
  });

  it('runs waiting tasks critical first, then high, normal and low', async () => {
    const blocker = await create({ payload: { samples: 200, interval_ms: 100 } });
    await waitFor(
      () => get(blocker.id),
      (task) => task.status === 'processing',
      { what: 'the blocker to run' },
    );

    const order = ['low', 'normal', 'high', 'critical'] as const;
    const waiting: Record<string, TaskBody> = {};
    for (const priority of order) waiting[priority] = await create({ priority });

    // While the blocker holds the only slot, all four wait, ranked by priority.
    const positions: Record<string, unknown> = {};
    for (const priority of order) {
      const task = await get(waiting[priority].id);
      expect(task.status).toBe('queued');
      positions[priority] = task.queue_position;
    }
    expect(positions).toEqual({ critical: 1, high: 2, normal: 3, low: 4 });
    expect((await get(blocker.id)).status).toBe('processing');

    expect(await queueInfo({ task_type: 'health_check', priority: 'high' })).toEqual({
      queue_size: 1,
      queue_key: 'task_queue:health_check:high',
    });
    expect(await queueInfo({ task_type: 'health_check' })).toEqual({
      queue_size: 4,
      queue_key: 'task_queue:health_check',
    });
    expect(await queueInfo({ priority: 'low' })).toEqual({ queue_size: 1, queue_key: 'task_queue:low' });
    expect(await queueInfo({ task_type: 'document_processing' })).toEqual({
      queue_size: 0,
      queue_key: 'task_queue:document_processing',
    });
    expect(await queueInfo({})).toEqual({ queue_size: 4, queue_key: 'task_queue' });

    await request(t.http).delete(`/api/v1/tasks/${blocker.id}`).expect(200);

    const finished: TaskBody[] = [];
    for (const priority of order) {
      finished.push(
        await waitFor(
          () => get(waiting[priority].id),
          (task) => task.status === 'completed',
          { what: `the ${priority} task to complete` },
        ),
      );
    }
    const byStart = [...finished].sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at));
    expect(byStart.map((task) => task.priority)).toEqual(['critical', 'high', 'normal', 'low']);
    // One slot: each starts only after the one before it has finished.
    for (let i = 1; i < byStart.length; i++) {
      expect(Date.parse(byStart[i].started_at)).toBeGreaterThanOrEqual(Date.parse(byStart[i - 1].completed_at));
    }
    expect(await queueInfo({})).toEqual({ queue_size: 0, queue_key: 'task_queue' });
  });

  it('refuses unknown filters of the queue info with 400', async () => {
    const res = await request(t.http)
      .get('/api/v1/queues/info')
      .query({ task_type: 'nope', priority: 'urgent' })
      .expect(400);
    expect(res.body.code).toBe('INVALID_REQUEST');
    expect(Object.keys(res.body.details.fields)).toEqual(expect.arrayContaining(['task_type', 'priority']));
  });
});
