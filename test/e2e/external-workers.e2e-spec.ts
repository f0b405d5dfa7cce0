import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Redis from 'ioredis';
import request from 'supertest';
import { LeasedTask, TaskWorkerClient } from '../../examples/typescript/task-worker-client';
import { HashingEmbedder } from '../../src/pipeline/embedding/hashing-embedder';
import { TaskQueueService } from '../../src/queues/task-queue.service';
import { makeKey } from '../setup/auth-helpers';
import { createTestApp, KbTracker, TestApp, waitFor } from '../setup/test-app';
import { TEST_REDIS_URL } from '../setup/test-env';

/**
 * External workers over REST: embedding_generation is left to them (EXTERNAL_TASK_TYPES), so
 * the app's own worker never runs it. Every worker here uses a key limited to its test's kbs:
 * the test database is shared, and a key for every kb could lease another file's tasks.
 */
const TYPE = 'embedding_generation';
const PYTHON_WORKER = join(__dirname, '../../examples/python/embedding_worker.py');
const kbs = new KbTracker();
const kb = {
  ts: kbs.kb('xw_ts'),
  py: kbs.kb('xw_py'),
  expiry: kbs.kb('xw_expiry'),
  cancel: kbs.kb('xw_cancel'),
  retry: kbs.kb('xw_retry'),
  kill: kbs.kb('xw_kill'),
  race: kbs.kb('xw_race'),
  a: kbs.kb('xw_a'),
  b: kbs.kb('xw_b'),
  wake: kbs.kb('xw_wake'),
};
const admin = makeKey('xw-admin', 'admin');
const workerKeys = Object.fromEntries(
  Object.entries(kb).map(([name, id]) => [name, makeKey(`xw-${name}`, 'worker', [id])]),
) as Record<keyof typeof kb, ReturnType<typeof makeKey>>;
/** One key for two kbs: the tenancy and round-robin checks. */
const keyAB = makeKey('xw-ab', 'worker', [kb.a, kb.b]);

describe('External workers over REST (e2e)', () => {
  let t: TestApp;
  let base: string;
  const children: ChildProcess[] = [];

  const as = (key: { key: string }) => ({ 'X-API-Key': key.key });
  const create = async (kbId: string, payload: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    (
      await request(t.http)
        .post('/api/v1/tasks')
        .set(as(admin))
        .send({ task_type: TYPE, kb_id: kbId, payload, ...extra })
        .expect(201)
    ).body as { id: string };
  const texts = (n: number, label: string) => ({ texts: Array.from({ length: n }, (_, i) => `${label} text ${i}`) });
  const get = async (id: string) => (await request(t.http).get(`/api/v1/tasks/${id}`).set(as(admin))).body;
  const settled = (id: string, timeoutMs = 15000) =>
    waitFor(
      () => get(id),
      (task) => ['completed', 'failed', 'cancelled'].includes(task.status),
      { timeoutMs, what: `task ${id} to settle` },
    );
  const lease = (key: { key: string }, body: Record<string, unknown> = {}) =>
    request(t.http)
      .post('/api/v1/workers/lease')
      .set(as(key))
      .send({ worker_id: 'raw-worker', task_types: [TYPE], lease_seconds: 1, ...body });
  const leaseOne = async (key: { key: string }, body: Record<string, unknown> = {}): Promise<LeasedTask> => {
    const res = await lease(key, { wait_seconds: 5, ...body }).expect(200);
    expect(res.body.tasks).toHaveLength(1);
    return res.body.tasks[0];
  };
  const onLease = (verb: string, task: LeasedTask, key: { key: string }, body: Record<string, unknown> = {}) =>
    request(t.http)
      .post(`/api/v1/tasks/${task.id}/${verb}`)
      .set(as(key))
      .send({ lease_token: task.lease_token, ...body });
  const client = (name: keyof typeof kb, workerId: string) =>
    new TaskWorkerClient({
      baseUrl: base,
      apiKey: workerKeys[name].key,
      workerId,
      taskTypes: [TYPE],
      concurrency: 2,
      leaseSeconds: 2,
      waitSeconds: 1,
    });
  const python = (name: keyof typeof kb, workerId: string, env: Record<string, string> = {}) => {
    const child = spawn('python3', [PYTHON_WORKER], {
      env: {
        ...process.env,
        TASK_MANAGER_URL: base,
        TASK_MANAGER_API_KEY: workerKeys[name].key,
        WORKER_ID: workerId,
        LEASE_SECONDS: '2',
        WAIT_SECONDS: '1',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    return child;
  };
  const statusEvents = async (id: string) =>
    (await request(t.http).get(`/api/v1/tasks/${id}/history`).set(as(admin))).body as {
      attempts: { attempt: number; outcome: string; worker_id: string | null }[];
      events: { type: string; status: string; attempt: number }[];
    };

  beforeAll(async () => {
    t = await createTestApp({
      EXTERNAL_TASK_TYPES: TYPE,
      API_KEYS: JSON.stringify([admin.entry, keyAB.entry, ...Object.values(workerKeys).map((k) => k.entry)]),
    });
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await t.prisma.task.deleteMany({ where: { kbId: { in: kbs.ids } } });
    await t.close();
  });

  it('a TypeScript worker leases and completes tasks that the built-in workers never run; history and stats see it', async () => {
    const ids = await Promise.all([1, 2, 3].map(async (i) => (await create(kb.ts, texts(2, `ts ${i}`))).id));
    const worker = client('ts', 'ts-worker-1');
    const running = worker.run(async (task, { progress }) => {
      await progress(50, 'halfway');
      return { embedded: (task.payload.texts as string[]).length, by: 'ts' };
    });
    const finished = await Promise.all(ids.map((id) => settled(id)));
    await worker.stop();
    await running;
    for (const task of finished) {
      expect(task).toMatchObject({ status: 'completed', worker_id: 'ts-worker-1', result: { embedded: 2, by: 'ts' } });
    }
    const history = await statusEvents(ids[0]);
    expect(history.attempts).toEqual([
      expect.objectContaining({ attempt: 1, outcome: 'completed', worker_id: 'ts-worker-1' }),
    ]);
    const stats = (await request(t.http).get(`/api/v1/stats/tasks?kb_id=${kb.ts}`).set(as(admin))).body;
    expect(stats).toMatchObject({ completed_tasks: 3, status_breakdown: expect.objectContaining({ completed: 3 }) });
    // Never dispatched to BullMQ: no job was ever made for it.
    expect(await t.app.get(TaskQueueService).jobState(TYPE, ids[0])).toBe('missing');
  });

  it('the Python example worker completes embedding_generation tasks with the built-in embedder’s vectors, and stops on SIGTERM', async () => {
    const payloads = [
      { texts: ['What is a vector database?', 'Vectors are stored with their ids.'] },
      { texts: ['Naïve café, 42 ÉTÉS'] },
    ];
    const ids = await Promise.all(payloads.map(async (payload) => (await create(kb.py, payload)).id));
    const worker = python('py', 'py-worker-1');
    const finished = await Promise.all(ids.map((id) => settled(id)));
    const embedder = new HashingEmbedder({ dimension: 384 });
    finished.forEach((task, i) => {
      expect(task).toMatchObject({ status: 'completed', worker_id: 'py-worker-1' });
      expect(task.result).toMatchObject({
        model: embedder.model,
        dimension: 384,
        embedded: payloads[i].texts.length,
        stored: null,
      });
      (task.result.vectors as number[][]).forEach((vector, j) => {
        const expected = embedder.embedOne(payloads[i].texts[j]);
        expect(vector).toHaveLength(384);
        vector.forEach((value, k) => {
          expect(value).toBeCloseTo(expected[k], 9);
        });
      });
    });
    worker.kill('SIGTERM');
    const [code] = (await once(worker, 'exit')) as [number | null];
    expect(code).toBe(0);
  });

  it('an expired lease requeues the task as a failed attempt; the late worker hears LEASE_EXPIRED, then LEASE_LOST', async () => {
    const { id } = await create(kb.expiry, texts(1, 'expiry'));
    const first = await leaseOne(workerKeys.expiry);
    expect(first).toMatchObject({ id, attempt: 1, kb_id: kb.expiry, task_type: TYPE, payload: texts(1, 'expiry') });
    const requeued = await waitFor(
      () => get(id),
      (task) => task.status === 'queued',
      { what: 'the lease to expire' },
    );
    expect(requeued).toMatchObject({ retry_count: 1, error_message: expect.stringMatching(/Lease expired/) });
    expect((await onLease('heartbeat', first, workerKeys.expiry).expect(409)).body).toMatchObject({
      code: 'LEASE_EXPIRED',
      error: 'Lease expired',
      details: { task_id: id },
    });
    const second = await leaseOne(workerKeys.expiry, { lease_seconds: 30 });
    expect(second.attempt).toBe(2);
    expect((await onLease('complete', first, workerKeys.expiry, { result: {} }).expect(409)).body.code).toBe(
      'LEASE_LOST',
    );
    await onLease('complete', second, workerKeys.expiry, { result: { ok: true } }).expect(200);
    expect(await get(id)).toMatchObject({ status: 'completed', result: { ok: true } });

    // Out of attempts: an expiry fails the task.
    const last = await create(kb.expiry, texts(1, 'no retries'), { max_retries: 0 });
    await leaseOne(workerKeys.expiry);
    const failed = await settled(last.id);
    expect(failed).toMatchObject({ status: 'failed', error_message: expect.stringMatching(/Lease expired/) });
  });

  it('cancel reaches the worker on its next heartbeat (409 TASK_CANCELLED), and its result is refused', async () => {
    const { id } = await create(kb.cancel, texts(1, 'cancel'));
    const leased = await leaseOne(workerKeys.cancel, { lease_seconds: 30 });
    const beat = await onLease('heartbeat', leased, workerKeys.cancel, { lease_seconds: 30, progress: 30 }).expect(200);
    expect(beat.body).toMatchObject({ task_id: id, lease_token: leased.lease_token, progress: 30 });
    await request(t.http)
      .put(`/api/v1/tasks/${id}/progress`)
      .set(as(workerKeys.cancel))
      .send({ progress: 40, lease_token: leased.lease_token })
      .expect(200);
    await request(t.http).delete(`/api/v1/tasks/${id}`).set(as(admin)).expect(200);
    const refused = await onLease('heartbeat', leased, workerKeys.cancel).expect(409);
    expect(refused.body).toMatchObject({
      code: 'TASK_CANCELLED',
      error: 'Task cancelled',
      details: { task_id: id, status: 'cancelled' },
    });
    expect((await onLease('complete', leased, workerKeys.cancel, { result: {} }).expect(409)).body.code).toBe(
      'TASK_CANCELLED',
    );
    const progress = await request(t.http)
      .put(`/api/v1/tasks/${id}/progress`)
      .set(as(workerKeys.cancel))
      .send({ progress: 50, lease_token: leased.lease_token })
      .expect(409);
    expect(progress.body.code).toBe('TASK_CANCELLED');
    expect(await get(id)).toMatchObject({ status: 'cancelled', result: null });
  });

  it('a retryable failure requeues the task with backoff until its retries are spent; a permanent one fails it at once', async () => {
    const { id } = await create(kb.retry, texts(1, 'retry'), { max_retries: 1 });
    const first = await leaseOne(workerKeys.retry, { lease_seconds: 30 });
    expect(first.id).toBe(id);
    const failedOnce = await onLease('fail', first, workerKeys.retry, { error: 'GPU busy', retryable: true }).expect(
      200,
    );
    expect(failedOnce.body).toMatchObject({ status: 'queued', retry_count: 1, error_message: 'GPU busy' });
    const second = await leaseOne(workerKeys.retry, { lease_seconds: 30 });
    expect(second).toMatchObject({ id, attempt: 2 });
    const failedTwice = await onLease('fail', second, workerKeys.retry, { error: 'GPU busy again', retryable: true });
    expect(failedTwice.body).toMatchObject({ status: 'failed', error_message: 'GPU busy again' });
    expect(
      (await onLease('fail', first, workerKeys.retry, { error: 'x', retryable: true }).expect(409)).body.code,
    ).toBe('TASK_NOT_PROCESSING');

    const permanent = await create(kb.retry, texts(1, 'permanent'), { max_retries: 3 });
    const leased = await leaseOne(workerKeys.retry, { lease_seconds: 30 });
    expect(leased.id).toBe(permanent.id);
    await onLease('fail', leased, workerKeys.retry, { error: 'bad input', retryable: false }).expect(200);
    expect(await get(permanent.id)).toMatchObject({ status: 'failed', retry_count: 0 });
    expect((await onLease('heartbeat', leased, workerKeys.retry).expect(409)).body.code).toBe('TASK_NOT_PROCESSING');
  });

  it('a worker SIGKILLed mid-task loses nothing and doubles nothing: another worker completes it once, after the lease expires', async () => {
    const { id } = await create(kb.kill, texts(1, 'kill'));
    const doomed = python('kill', 'py-doomed', { WORK_DELAY_SECONDS: '60' });
    await waitFor(
      () => get(id),
      (task) => task.status === 'processing' && task.worker_id === 'py-doomed',
      {
        what: 'the doomed worker to lease the task',
      },
    );
    doomed.kill('SIGKILL');
    await once(doomed, 'exit');
    const rescuer = client('kill', 'ts-rescuer');
    const running = rescuer.run(async () => ({ rescued: true }));
    const task = await settled(id);
    await rescuer.stop();
    await running;
    expect(task).toMatchObject({ status: 'completed', worker_id: 'ts-rescuer', result: { rescued: true } });
    const history = await statusEvents(id);
    expect(history.events.filter((e) => e.type === 'status' && e.status === 'completed')).toHaveLength(1);
    expect(history.attempts.map((a) => [a.worker_id, a.outcome])).toEqual([
      ['py-doomed', expect.not.stringMatching(/completed/)],
      ['ts-rescuer', 'completed'],
    ]);
  });

  it('concurrent leasers never get the same task', async () => {
    const total = 40;
    await request(t.http)
      .post('/api/v1/tasks/batch')
      .set(as(admin))
      .send(
        Array.from({ length: total }, (_, i) => ({
          task_type: TYPE,
          kb_id: kb.race,
          payload: { texts: [`race ${i}`] },
        })),
      )
      .expect(201);
    const seen: string[] = [];
    for (let round = 0; round < 10 && seen.length < total; round++) {
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          lease(workerKeys.race, { worker_id: `racer-${i}`, max_tasks: 5, lease_seconds: 60 }),
        ),
      );
      for (const answer of answers) seen.push(...(answer.body.tasks as LeasedTask[]).map((task) => task.id));
    }
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
  });

  it('a key limited to some kbs leases only theirs, round-robin between them; priority, schedule_for and pause apply', async () => {
    const outsider = await create(kb.race, texts(1, 'not yours'));
    const aTasks = [];
    for (let i = 0; i < 4; i++) aTasks.push(await create(kb.a, texts(1, `a ${i}`)));
    const bTask = await create(kb.b, texts(1, 'b 0'));
    const urgent = await create(kb.a, texts(1, 'urgent'), { priority: 'critical' });
    await create(kb.b, texts(1, 'later'), { schedule_for: new Date(Date.now() + 3_600_000).toISOString() });

    await request(t.http).post(`/api/v1/queues/${TYPE}/pause`).set(as(admin)).expect(200);
    expect((await lease(keyAB, { max_tasks: 10 }).expect(200)).body.tasks).toEqual([]);
    await request(t.http).post(`/api/v1/queues/${TYPE}/resume`).set(as(admin)).expect(200);

    const first = (await lease(keyAB, { max_tasks: 3, lease_seconds: 60 }).expect(200)).body.tasks as LeasedTask[];
    // The critical task first; then kb a's and kb b's oldest, although kb a has older ones waiting.
    expect(first.map((task) => task.id)).toEqual([urgent.id, aTasks[0].id, bTask.id]);
    const rest = (await lease(keyAB, { max_tasks: 10, lease_seconds: 60 }).expect(200)).body.tasks as LeasedTask[];
    expect(rest.map((task) => task.id)).toEqual(aTasks.slice(1).map((task) => task.id));
    expect((await get(outsider.id)).status).toBe('queued');
    const foreign = await request(t.http).get(`/api/v1/tasks/${outsider.id}`).set(as(keyAB));
    expect(foreign.status).toBe(404);
  });

  it('a long poll waits, and answers once a task is queued (signalled over Redis); built-in task types cannot be leased', async () => {
    const signals: string[] = [];
    const subscriber = new Redis(TEST_REDIS_URL);
    await subscriber.subscribe(`${t.prefix}:external-tasks`);
    subscriber.on('message', (_channel: string, type: string) => signals.push(type));
    try {
      let answered = false;
      const started = Date.now();
      const answer = lease(workerKeys.wake, { wait_seconds: 20, lease_seconds: 30 }).then((res) => {
        answered = true;
        return { res, at: Date.now() };
      });
      // Still waiting after a recheck: nothing of this kb is due.
      await waitFor(
        async () => Date.now() - started,
        (elapsed) => elapsed > 1200,
        { intervalMs: 100 },
      );
      expect(answered).toBe(false);
      const { id } = await create(kb.wake, texts(1, 'wake'));
      const { res, at } = await answer;
      expect(res.status).toBe(200);
      expect(res.body.tasks.map((task: LeasedTask) => task.id)).toEqual([id]);
      expect(at - started).toBeLessThan(15_000);
      await waitFor(
        async () => signals,
        (seen) => seen.includes(TYPE),
        { what: 'the wake-up signal' },
      );
    } finally {
      subscriber.disconnect();
    }

    const refused = await lease(workerKeys.wake, { task_types: ['document_processing'] }).expect(400);
    expect(refused.body).toMatchObject({
      code: 'INVALID_REQUEST',
      details: { fields: { task_types: [expect.any(String)] } },
    });
    const writer = makeKey('xw-not-registered', 'write');
    expect((await lease(writer).expect(401)).body.code).toBe('UNAUTHORIZED');
  });
});
