import request from 'supertest';
import { makeKey } from '../setup/auth-helpers';
import { parse, sum } from '../setup/prometheus-text';
import { createTestApp, KbTracker, TestApp, waitFor } from '../setup/test-app';

/**
 * Concurrency caps on the external-worker lease path: KB_MAX_CONCURRENCY and
 * TASK_TYPE_MAX_CONCURRENCY bound what external workers hold exactly as they bound the
 * built-in workers (the same Redis slots), a heartbeat keeps a slot, complete frees it at once
 * and an abandoned lease frees it when the lease ends.
 */
const TYPE = 'embedding_generation';
const kbs = new KbTracker();
const kbA = kbs.kb('xwcap_a');
const kbB = kbs.kb('xwcap_b');
const admin = makeKey('xwcap-admin', 'admin');
const worker = makeKey('xwcap-worker', 'worker', [kbA, kbB]);

interface Leased {
  id: string;
  kb_id: string;
  lease_token: string;
}

describe('External workers under concurrency caps (e2e)', () => {
  let t: TestApp;

  const lease = async (maxTasks: number, leaseSeconds = 2): Promise<Leased[]> =>
    (
      await request(t.http)
        .post('/api/v1/workers/lease')
        .set('X-API-Key', worker.key)
        .send({
          worker_id: 'capped',
          task_types: [TYPE],
          max_tasks: maxTasks,
          lease_seconds: leaseSeconds,
          wait_seconds: 0,
        })
        .expect(200)
    ).body.tasks as Leased[];
  const onLease = (verb: string, task: Leased, body: Record<string, unknown> = {}) =>
    request(t.http)
      .post(`/api/v1/tasks/${task.id}/${verb}`)
      .set('X-API-Key', worker.key)
      .send({ lease_token: task.lease_token, ...body });
  const processingPerKb = async () => {
    const rows = await t.prisma.task.groupBy({
      by: ['kbId'],
      where: { kbId: { in: kbs.ids }, status: 'processing' },
      _count: true,
    });
    return Object.fromEntries(rows.map((row) => [row.kbId, row._count]));
  };

  beforeAll(async () => {
    t = await createTestApp({
      EXTERNAL_TASK_TYPES: TYPE,
      KB_MAX_CONCURRENCY: '2',
      TASK_TYPE_MAX_CONCURRENCY: `${TYPE}:3`,
      API_KEYS: JSON.stringify([admin.entry, worker.entry]),
    });
    for (const kbId of [kbA, kbA, kbA, kbA, kbB, kbB, kbB, kbB]) {
      await request(t.http)
        .post('/api/v1/tasks')
        .set('X-API-Key', admin.key)
        .send({ task_type: TYPE, kb_id: kbId, payload: { texts: ['capped'] } })
        .expect(201);
    }
  });

  afterAll(async () => {
    await t.prisma.task.deleteMany({ where: { kbId: { in: kbs.ids } } });
    await t.close();
  });

  const queueState = async () => {
    const { queues } = (await request(t.http).get('/api/v1/queues').set('X-API-Key', admin.key).expect(200)).body as {
      queues: { task_type: string; waiting: number; active: number }[];
    };
    const info = (
      await request(t.http)
        .get('/api/v1/queues/info')
        .query({ task_type: TYPE })
        .set('X-API-Key', admin.key)
        .expect(200)
    ).body as { queue_size: number };
    const { waiting, active } = queues.find((queue) => queue.task_type === TYPE)!;
    return { waiting, active, size: info.queue_size };
  };

  const counted = async (metric: string) =>
    sum(parse((await request(t.http).get('/metrics').expect(200)).text), metric, { task_type: TYPE });

  it('leases no more than the type cap in all and the kb cap per kb; complete frees a slot at once', async () => {
    const startedBefore = await counted('task_manager_task_queue_wait_seconds_count');
    const completedBefore = await counted('task_manager_tasks_completed_total');
    // An external type has no BullMQ jobs: its queue views count its tasks in PostgreSQL.
    const before = await queueState();
    expect(before.waiting).toBeGreaterThanOrEqual(8);
    expect(before.size).toBe(before.waiting);

    const first = await lease(10);
    expect(first).toHaveLength(3);
    expect(await queueState()).toEqual({
      waiting: before.waiting - 3,
      active: before.active + 3,
      size: before.waiting - 3,
    });
    const perKb = (tasks: Leased[], kbId: string) => tasks.filter((task) => task.kb_id === kbId).length;
    expect(perKb(first, kbA)).toBeLessThanOrEqual(2);
    expect(perKb(first, kbB)).toBeLessThanOrEqual(2);
    expect(await lease(10)).toHaveLength(0);
    const held = await processingPerKb();
    expect((held[kbA] ?? 0) + (held[kbB] ?? 0)).toBe(3);

    await onLease('complete', first[0], { result: { done: true } }).expect(200);
    const next = await lease(10);
    expect(next).toHaveLength(1);
    expect(await lease(10)).toHaveLength(0);

    // Heartbeats keep the slots past the first lease's end (2 s): still nothing to lease.
    const holding = [...first.slice(1), ...next];
    for (let beat = 0; beat < 3; beat++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      for (const task of holding) await onLease('heartbeat', task, { lease_seconds: 2 }).expect(200);
      expect(await lease(10)).toHaveLength(0);
    }
    for (const task of holding) await onLease('complete', task, { result: { done: true } }).expect(200);
    // The metrics see external runs as they see built-in ones: four started, four completed.
    expect(await counted('task_manager_task_queue_wait_seconds_count')).toBe(startedBefore + 4);
    expect(await counted('task_manager_tasks_completed_total')).toBe(completedBefore + 4);
  });

  it('a lease nobody heartbeats frees its slots when it ends: its tasks and others can be leased again', async () => {
    const abandoned = await lease(10, 1);
    expect(abandoned).toHaveLength(3);
    const again = await waitFor(
      () => lease(10, 1),
      (tasks) => tasks.length > 0,
      { what: 'slots of the abandoned leases to free', timeoutMs: 10_000 },
    );
    expect(again.length).toBeLessThanOrEqual(3);
    const held = await processingPerKb();
    expect(held[kbA] ?? 0).toBeLessThanOrEqual(2);
    expect(held[kbB] ?? 0).toBeLessThanOrEqual(2);
  });
});
