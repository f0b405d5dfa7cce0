import request from 'supertest';
import { TaskQueueService } from '../../src/queues/task-queue.service';
import { taskRequest } from '../factories/task.factory';
import { createTestApp, TestApp, KbTracker, waitFor } from '../setup/test-app';

type Body = Record<string, any>;

const FAR_FUTURE = '2999-01-01T00:00:00.000Z';
const LONG_RUNNING = { samples: 200, interval_ms: 100 };

/**
 * Bulk cancel and retry: thousands of tasks in batches, with the single-task semantics
 * (jobs removed or aborted, children cancelled, retries dispatched). BULK_SYNC_LIMIT is
 * lowered so both the synchronous (200) and the background (202) paths run.
 */
describe('Bulk actions (e2e)', () => {
  let t: TestApp;
  let queues: TaskQueueService;
  const kbs = new KbTracker();
  const kb = kbs.kb;
  const bulk = (action: 'cancel' | 'retry', filter: Record<string, unknown>) =>
    request(t.http).post(`/api/v1/tasks/bulk/${action}`).send(filter);
  const followToEnd = (id: string) =>
    waitFor(
      async () => (await request(t.http).get(`/api/v1/tasks/bulk/${id}`).expect(200)).body as Body,
      (op) => op.status !== 'running',
      {
        timeoutMs: 30000,
        what: `bulk operation ${id}`,
      },
    );
  const createMany = async (count: number, overrides: Record<string, unknown>): Promise<string[]> => {
    const ids: string[] = [];
    for (let offset = 0; offset < count; offset += 1000) {
      const items = Array.from({ length: Math.min(1000, count - offset) }, () => taskRequest(overrides));
      const res = await request(t.http).post('/api/v1/tasks/batch').send(items).expect(201);
      ids.push(...res.body.tasks.map((task: Body) => task.id));
    }
    return ids;
  };

  beforeAll(async () => {
    t = await createTestApp({ BULK_SYNC_LIMIT: '1000', BULK_BATCH_SIZE: '500' });
    queues = t.app.get(TaskQueueService);
  });

  afterAll(async () => {
    // Nothing of ours may stay waiting for another app's reconciler to pick up.
    await t.prisma.task.updateMany({
      where: { kbId: { in: kbs.ids }, status: { in: ['queued', 'processing'] } },
      data: { status: 'cancelled' },
    });
    await t.close();
  });

  it('cancels 3,000 tasks scheduled for the future in the background, in batches, removing their jobs', async () => {
    const kbId = kb('bulk3k');
    const ids = await createMany(3000, { kb_id: kbId, schedule_for: FAR_FUTURE });
    const other = await createMany(1, { kb_id: kb('bulkother'), schedule_for: FAR_FUTURE });
    expect(await queues.queue('health_check').getDelayedCount()).toBeGreaterThanOrEqual(3001);

    const res = await bulk('cancel', { kb_id: kbId }).expect(202);
    const answeredAt = Date.now();
    expect(res.headers.location).toBe(`/api/v1/tasks/bulk/${res.body.id}`);
    expect(res.body).toMatchObject({ action: 'cancel', status: 'running', matched: 3000, filter: { kb_id: kbId } });

    const done = await followToEnd(res.body.id);
    expect(done).toMatchObject({ status: 'completed', matched: 3000, affected: 3000, batches: 6, error: null });
    // The API answered while the batches were still being worked through.
    expect(Date.parse(done.finished_at)).toBeGreaterThan(answeredAt);

    const byStatus = await t.prisma.task.groupBy({
      by: ['status'],
      where: { id: { in: ids } },
      _count: { _all: true },
    });
    expect(byStatus).toEqual([{ status: 'cancelled', _count: { _all: 3000 } }]);
    const sample = await t.prisma.task.findUnique({ where: { id: ids[1234] } });
    expect(sample).toMatchObject({ progressMessage: 'Canceled by request' });
    expect(sample?.completedAt).not.toBeNull();
    // The jobs are gone from Redis; the other kb's task is untouched.
    const jobs = await Promise.all([ids[0], ids[1500], ids[2999]].map((id) => queues.queue('health_check').getJob(id)));
    expect(jobs).toEqual([undefined, undefined, undefined]);
    expect(await t.prisma.task.findUnique({ where: { id: other[0] } })).toMatchObject({ status: 'queued' });
    expect(await queues.queue('health_check').getJob(other[0])).toBeDefined();
    // Each cancellation is in the task's history.
    expect(await t.prisma.taskEvent.count({ where: { taskId: { in: ids }, status: 'cancelled' } })).toBe(3000);

    // Retrying them all puts them back in the queue with a counted retry and a new (delayed) job.
    const retried = await followToEnd((await bulk('retry', { kb_id: kbId, status: 'cancelled' }).expect(202)).body.id);
    expect(retried).toMatchObject({ status: 'completed', matched: 3000, affected: 3000 });
    const requeued = await t.prisma.task.groupBy({
      by: ['status', 'retryCount'],
      where: { id: { in: ids } },
      _count: { _all: true },
    });
    expect(requeued).toEqual([{ status: 'queued', retryCount: 1, _count: { _all: 3000 } }]);
    expect(await queues.queue('health_check').getJobState(ids[2999])).toBe('delayed');

    const again = await followToEnd((await bulk('cancel', { kb_id: kbId }).expect(202)).body.id);
    expect(again.affected).toBe(3000);
  });

  it('retries failed tasks synchronously when few match: they run again and complete', async () => {
    const kbId = kb('bulkretry');
    const ids = await createMany(40, {
      kb_id: kbId,
      payload: { samples: 100, interval_ms: 100 },
      timeout: 1,
      max_retries: 0,
    });
    await waitFor(
      () => t.prisma.task.count({ where: { id: { in: ids }, status: 'failed' } }),
      (n) => n === 40,
      { what: '40 tasks to fail' },
    );
    // Make them succeed this time.
    await t.prisma.task.updateMany({ where: { id: { in: ids } }, data: { payload: { samples: 1 } } });

    const res = await bulk('retry', { kb_id: kbId, task_type: 'health_check', priority: 'normal' }).expect(200);
    expect(res.body).toMatchObject({ status: 'completed', matched: 40, affected: 40, batches: 1 });
    await waitFor(
      () => t.prisma.task.count({ where: { id: { in: ids }, status: 'completed' } }),
      (n) => n === 40,
      { what: 'the retried tasks to complete' },
    );
    expect(await t.prisma.task.count({ where: { id: { in: ids }, retryCount: 1 } })).toBe(40);

    // Nothing left to retry: matched 0, still a 200.
    expect((await bulk('retry', { kb_id: kbId }).expect(200)).body).toMatchObject({ matched: 0, affected: 0 });
  });

  it('cancels running tasks (their handlers stop) and the children of cancelled parents', async () => {
    const kbId = kb('bulkrun');
    const running = await createMany(2, { kb_id: kbId, payload: LONG_RUNNING });
    const parent = (
      await request(t.http)
        .post('/api/v1/tasks')
        .send(
          taskRequest({
            kb_id: kbId,
            task_type: 'batch_processing',
            payload: {
              items: [
                { task_type: 'health_check', payload: LONG_RUNNING },
                { task_type: 'health_check', schedule_for: FAR_FUTURE, payload: {} },
              ],
            },
          }),
        )
        .expect(201)
    ).body;
    await waitFor(
      () => t.prisma.task.count({ where: { id: { in: running }, status: 'processing', progress: { gt: 0 } } }),
      (n) => n === 2,
      { what: 'both tasks to run' },
    );
    const children = await waitFor(
      () => t.prisma.task.findMany({ where: { parentId: parent.id } }),
      (rows) => rows.length === 2,
      { what: 'the batch children' },
    );

    // Only the parent matches (batch_processing); its children go with it.
    const parentOnly = await bulk('cancel', { kb_id: kbId, task_type: 'batch_processing' }).expect(200);
    expect(parentOnly.body).toMatchObject({ matched: 1, affected: 1 });
    expect(await t.prisma.task.count({ where: { id: { in: children.map((c) => c.id) }, status: 'cancelled' } })).toBe(
      2,
    );

    const res = await bulk('cancel', { kb_id: kbId, status: 'processing' }).expect(200);
    expect(res.body).toMatchObject({ matched: 2, affected: 2 });
    for (const id of running) {
      await waitFor(
        () => queues.queue('health_check').getJobState(id),
        (state) => state === 'failed',
        { timeoutMs: 3000, what: `job ${id} to stop` },
      );
    }
    expect(await t.prisma.task.count({ where: { id: { in: running }, status: 'cancelled' } })).toBe(2);
  });

  it('refuses a bulk action without a filter, with a status it does not apply to, or with unknown fields', async () => {
    const none = await bulk('cancel', {}).expect(400);
    expect(none.body.code).toBe('INVALID_REQUEST');
    const wrong = await bulk('retry', { kb_id: 'kb_x', status: 'queued' }).expect(400);
    expect(wrong.body.details.fields).toHaveProperty('status');
    const unknown = await bulk('cancel', { kb_id: 'kb_x', page: 2 }).expect(400);
    expect(unknown.body.details.fields).toHaveProperty('page');
    await bulk('cancel', { created_before: 'yesterday' }).expect(400);
    const missing = await request(t.http).get('/api/v1/tasks/bulk/00000000-0000-4000-8000-000000000000').expect(404);
    expect(missing.body.code).toBe('NOT_FOUND');
  });
});
