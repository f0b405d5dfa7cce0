import request from 'supertest';
import { AppRole } from '../../src/config/env.validation';
import { TaskQueueService } from '../../src/queues/task-queue.service';
import { taskRequest } from '../factories/task.factory';
import { startService, ServiceProcess } from '../setup/processes';
import { createTestApp, TestApp, uniqueKb, waitFor } from '../setup/test-app';

type Body = Record<string, any>;

/**
 * Pausing a task type's queue is global: the API (this process, no workers) pauses it and a
 * separate worker process stops taking its jobs, while other task types keep running.
 */
describe('Queue controls (e2e)', () => {
  let t: TestApp;
  let worker: ServiceProcess;
  const kb = uniqueKb('queues');

  const create = async (overrides: Record<string, unknown>): Promise<Body> =>
    (
      await request(t.http)
        .post('/api/v1/tasks')
        .send(taskRequest({ kb_id: kb, ...overrides }))
        .expect(201)
    ).body;
  const status = async (id: string) => (await t.prisma.task.findUnique({ where: { id } }))?.status;
  const queueOf = async (type: string): Promise<Body> =>
    (await request(t.http).get('/api/v1/queues').expect(200)).body.queues.find((q: Body) => q.task_type === type);

  beforeAll(async () => {
    t = await createTestApp({}, AppRole.Api);
    worker = await startService('worker', { QUEUE_PREFIX: t.prefix });
  });

  afterAll(async () => {
    await t.app.get(TaskQueueService).resume('health_check');
    await t.prisma.task.updateMany({
      where: { kbId: kb, status: { in: ['queued', 'processing'] } },
      data: { status: 'cancelled' },
    });
    await worker?.stop();
    await t.close();
  });

  it('lists every task queue with its counts', async () => {
    const { queues } = (await request(t.http).get('/api/v1/queues').expect(200)).body;
    expect(queues.map((q: Body) => q.task_type).sort()).toEqual([
      'batch_processing',
      'document_processing',
      'embedding_generation',
      'health_check',
      'knowledge_indexing',
      'vector_storage',
    ]);
    expect(queues[0]).toEqual({
      task_type: expect.any(String),
      paused: false,
      waiting: expect.any(Number),
      waiting_by_priority: {
        critical: expect.any(Number),
        high: expect.any(Number),
        normal: expect.any(Number),
        low: expect.any(Number),
      },
      delayed: expect.any(Number),
      active: expect.any(Number),
      failed: expect.any(Number),
      completed: expect.any(Number),
    });
  });

  it('stops dispatch of a paused task type in every worker and restarts it on resume', async () => {
    const paused = await request(t.http).post('/api/v1/queues/health_check/pause').expect(200);
    expect(paused.body).toMatchObject({ task_type: 'health_check', paused: true });

    const held = await create({ priority: 'high', payload: {} });
    const heldToo = await create({ priority: 'low', payload: {} });
    // Another task type keeps flowing through the same worker: proof the worker is taking jobs.
    const control = await create({ task_type: 'knowledge_indexing', payload: {} });
    await waitFor(
      () => status(control.id),
      (s) => s === 'completed',
      { what: 'the knowledge_indexing task in the unpaused queue' },
    );
    // Two more rounds of the worker's polling of the paused queue leave the held tasks waiting.
    const control2 = await create({ task_type: 'knowledge_indexing', payload: {} });
    await waitFor(
      () => status(control2.id),
      (s) => s === 'completed',
      { what: 'a second unpaused task' },
    );

    expect(await status(held.id)).toBe('queued');
    expect(await status(heldToo.id)).toBe('queued');
    const queue = await queueOf('health_check');
    expect(queue).toMatchObject({
      paused: true,
      waiting: 2,
      active: 0,
      waiting_by_priority: { critical: 0, high: 1, normal: 0, low: 1 },
    });

    const resumed = await request(t.http).post('/api/v1/queues/health_check/resume').expect(200);
    expect(resumed.body.paused).toBe(false);
    await waitFor(
      async () => [await status(held.id), await status(heldToo.id)],
      (s) => s.every((x) => x === 'completed'),
      {
        what: 'the held tasks to run after resume',
      },
    );
    const task = (await request(t.http).get(`/api/v1/tasks/${held.id}`).expect(200)).body;
    // Run by another process: this one has no workers.
    expect(task.worker_id).toMatch(/^worker_/);
    expect(task.worker_id).not.toContain(`_${process.pid}_`);
    expect(await queueOf('health_check')).toMatchObject({ paused: false, waiting: 0 });
  });

  it('refuses an unknown task type', async () => {
    const res = await request(t.http).post('/api/v1/queues/make_coffee/pause').expect(400);
    expect(res.body.code).toBe('INVALID_REQUEST');
    expect(res.body.details.fields).toHaveProperty('task_type');
  });
});
