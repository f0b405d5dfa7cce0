import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { AppRole } from '../../src/config/env.validation';
import { TASK_PRIORITIES, TASK_STATUSES, TASK_TYPES } from '../../src/task-types/task-types';
import { taskRequest } from '../factories/task.factory';
import { freePort, ServiceProcess, startRedis, startService } from '../setup/processes';
import { type Labels, parse, promtoolProblems, type Sample, sum } from '../setup/prometheus-text';
import { createTestApp, KbTracker, TestApp, waitFor } from '../setup/test-app';

type Body = Record<string, any>;

const FAR_FUTURE = '2999-01-01T00:00:00.000Z';
/** Runs for ten seconds unless cancelled. */
const LONG_RUNNING = { samples: 100, interval_ms: 100 };
const IN_FLIGHT = ['queued', 'processing'];

/** In and out of the system per task type: created + resumed + retried = completed + failed + cancelled + in flight. */
function balance(samples: Sample[]): Record<string, { entered: number; left_or_in_flight: number }> {
  const counter = (event: string, task_type: string) =>
    sum(samples, `task_manager_tasks_${event}_total`, { task_type });
  return Object.fromEntries(
    TASK_TYPES.map((task_type) => [
      task_type,
      {
        entered: counter('created', task_type) + counter('resumed', task_type) + counter('retried', task_type),
        left_or_in_flight:
          counter('completed', task_type) +
          counter('failed', task_type) +
          counter('cancelled', task_type) +
          IN_FLIGHT.reduce((n, status) => n + sum(samples, 'task_manager_tasks', { task_type, status }), 0),
      },
    ]),
  );
}

describe('GET /metrics: the task counters add up (e2e)', () => {
  let t: TestApp;
  let uploads: string;
  const kbs = new KbTracker();

  const scrape = async () => {
    const res = await request(t.http).get('/metrics').expect(200);
    return { text: res.text, samples: parse(res.text) };
  };
  const create = async (overrides: Record<string, unknown>): Promise<Body> =>
    (await request(t.http).post('/api/v1/tasks').send(taskRequest(overrides)).expect(201)).body;
  const waitForStatus = (id: string, status: string, timeoutMs = 30000) =>
    waitFor(
      async () => (await request(t.http).get(`/api/v1/tasks/${id}`).expect(200)).body as Body,
      (task) => task.status === status,
      { what: `task ${id} to be ${status}`, timeoutMs },
    );
  /**
   * The identity at a scrape. A scrape can land between a transition's commit and its counter's
   * increment (tasks other test files left behind may be moving too), so it is polled until it
   * holds, within a deadline; a counter that is wrong for good never satisfies it.
   */
  const balanced = async () => {
    const last = await waitFor(
      async () => balance((await scrape()).samples),
      (b) => Object.values(b).every(({ entered, left_or_in_flight }) => entered === left_or_in_flight),
      { what: 'created + resumed + retried = completed + failed + cancelled + in flight', timeoutMs: 5000 },
    ).catch(async () => balance((await scrape()).samples));
    for (const [task_type, { entered, left_or_in_flight }] of Object.entries(last)) {
      expect({ task_type, entered }).toEqual({ task_type, entered: left_or_in_flight });
    }
  };

  beforeAll(async () => {
    uploads = mkdtempSync(join(tmpdir(), 'tm-metrics-'));
    writeFileSync(join(uploads, 'note.txt'), 'Metrics should add up. '.repeat(40));
    t = await createTestApp({ UPLOAD_DIR: uploads });
    // The counters below are this process's, and its reconciler runs any unfinished task it
    // finds in the shared test database: an earlier file's leftover (an API-only app leaves its
    // tasks queued) would be counted as one of ours. Files run one at a time, so none is live.
    await t.prisma.task.deleteMany({ where: { status: { in: ['queued', 'processing'] } } });
  });

  afterAll(async () => {
    const open = await t.prisma.task.findMany({
      where: { kbId: { in: kbs.ids }, status: { in: ['queued', 'processing'] } },
    });
    for (const task of open) await request(t.http).delete(`/api/v1/tasks/${task.id}`);
    await t.close();
    rmSync(uploads, { recursive: true, force: true });
  });

  it('starts every series at zero: each task type, priority, status and reason', async () => {
    const { samples } = await scrape();
    const has = (name: string, labels: Labels) =>
      samples.some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    const missing: string[] = [];
    for (const task_type of TASK_TYPES) {
      for (const priority of TASK_PRIORITIES) {
        for (const event of ['created', 'resumed', 'retried', 'completed', 'failed', 'cancelled']) {
          if (!has(`task_manager_tasks_${event}_total`, { task_type, priority }))
            missing.push(`${event} ${task_type} ${priority}`);
        }
        for (const reason of ['error', 'timeout', 'permanent', 'stalled']) {
          if (!has('task_manager_task_attempts_failed_total', { task_type, priority, reason }))
            missing.push(`attempt ${task_type} ${priority} ${reason}`);
        }
        if (!has('task_manager_task_queue_wait_seconds_count', { task_type, priority }))
          missing.push(`queue wait ${task_type} ${priority}`);
      }
      for (const status of ['completed', 'failed']) {
        if (!has('task_manager_task_duration_seconds_count', { task_type, status }))
          missing.push(`duration ${task_type} ${status}`);
      }
      for (const status of TASK_STATUSES)
        if (!has('task_manager_tasks', { task_type, status })) missing.push(`tasks ${task_type} ${status}`);
    }
    for (const status of ['busy', 'idle', 'stopping'])
      if (!has('task_manager_workers', { status })) missing.push(`workers ${status}`);
    for (const state of ['busy', 'idle'])
      if (!has('task_manager_worker_slots', { state })) missing.push(`slots ${state}`);
    if (!has('task_manager_redis_up', {})) missing.push('redis_up');
    for (const name of [
      'task_manager_embedding_rate_limited_total',
      'task_manager_embedding_throttle_wait_seconds_count',
    ])
      if (!has(name, {})) missing.push(name);
    expect(missing).toEqual([]);
    await balanced();
  });

  it('after creates, a batch, a batch parent, a pipeline, retries and cancels: every task counted once per event', async () => {
    const kb = kbs.kb('metrics');
    const before = (await scrape()).samples;

    const singles = [await create({ kb_id: kb }), await create({ kb_id: kb })];
    const batch = (
      await request(t.http)
        .post('/api/v1/tasks/batch')
        .send([taskRequest({ kb_id: kb, priority: 'low' }), taskRequest({ kb_id: kb, priority: 'low' })])
        .expect(201)
    ).body.tasks as Body[];
    const parent = await create({
      kb_id: kb,
      task_type: 'batch_processing',
      priority: 'high',
      payload: {
        items: [
          { task_type: 'health_check', payload: {} },
          { task_type: 'health_check', payload: { samples: 2 } },
        ],
      },
    });
    const pipeline = await create({
      kb_id: kb,
      task_type: 'document_processing',
      payload: { file_path: join(uploads, 'note.txt'), pipeline: true },
    });
    // Times out on each of its two attempts: one automatic retry, then failed for good.
    const failing = await create({
      kb_id: kb,
      priority: 'critical',
      payload: LONG_RUNNING,
      timeout: 1,
      max_retries: 1,
    });
    const queued = await create({ kb_id: kb, schedule_for: FAR_FUTURE });
    const running = await create({ kb_id: kb, payload: LONG_RUNNING, timeout: 60 });

    await waitForStatus(running.id, 'processing');
    // The heartbeat publishes the running task: a busy slot, from the worker directory.
    await waitFor(
      async () => sum((await scrape()).samples, 'task_manager_worker_slots', { state: 'busy' }),
      (busy) => busy >= 1,
      { what: 'a busy worker slot' },
    );
    await balanced();
    await request(t.http).delete(`/api/v1/tasks/${running.id}`).expect(200);
    await request(t.http).delete(`/api/v1/tasks/${queued.id}`).expect(200);

    await waitForStatus(failing.id, 'failed');
    await balanced();
    await request(t.http).post(`/api/v1/tasks/${failing.id}/retry`).expect(200);
    await waitForStatus(failing.id, 'failed');

    for (const task of [...singles, ...batch]) await waitForStatus(task.id, 'completed');
    await waitForStatus(parent.id, 'completed');
    await waitForStatus(pipeline.id, 'completed', 60000);
    await waitForStatus(running.id, 'cancelled');
    await balanced();

    const after = (await scrape()).samples;
    const delta = (name: string, where: Labels = {}) => sum(after, name, where) - sum(before, name, where);
    const events = (task_type: string, where: Labels = {}) =>
      Object.fromEntries(
        ['created', 'retried', 'completed', 'failed', 'cancelled'].map((e) => [
          e,
          delta(`task_manager_tasks_${e}_total`, { task_type, ...where }),
        ]),
      );
    // health_check: 2 singles + 2 batch + 2 children + failing + queued + running.
    expect(events('health_check')).toEqual({ created: 9, retried: 1, completed: 6, failed: 2, cancelled: 2 });
    // The failing task: failed, retried by hand, failed again; four attempts timed out.
    expect(events('health_check', { priority: 'critical' })).toEqual({
      created: 1,
      retried: 1,
      completed: 0,
      failed: 2,
      cancelled: 0,
    });
    expect(
      delta('task_manager_task_attempts_failed_total', {
        task_type: 'health_check',
        priority: 'critical',
        reason: 'timeout',
      }),
    ).toBe(4);
    // Parents end when their children do, with a run time.
    expect(events('batch_processing')).toEqual({ created: 1, retried: 0, completed: 1, failed: 0, cancelled: 0 });
    expect(
      delta('task_manager_task_duration_seconds_count', { task_type: 'batch_processing', status: 'completed' }),
    ).toBe(1);
    expect(events('document_processing')).toEqual({ created: 1, retried: 0, completed: 1, failed: 0, cancelled: 0 });
    expect(
      delta('task_manager_task_duration_seconds_count', { task_type: 'document_processing', status: 'completed' }),
    ).toBe(1);
    for (const stage of ['embedding_generation', 'vector_storage', 'knowledge_indexing']) {
      expect({ stage, ...events(stage) }).toEqual({
        stage,
        created: 1,
        retried: 0,
        completed: 1,
        failed: 0,
        cancelled: 0,
      });
    }
    // First attempts only: the failing task's retries waited for a backoff or a person, not for a worker.
    expect(delta('task_manager_task_queue_wait_seconds_count', { task_type: 'health_check' })).toBe(8);
    expect(delta('task_manager_task_queue_wait_seconds_count', { task_type: 'batch_processing' })).toBe(1);

    // The tasks gauge is PostgreSQL's count, across processes.
    const rows = await t.prisma.task.groupBy({ by: ['taskType', 'status'], _count: { _all: true } });
    const gauge = Object.fromEntries(
      TASK_TYPES.flatMap((task_type) =>
        TASK_STATUSES.map((status) => [
          `${task_type} ${status}`,
          sum(after, 'task_manager_tasks', { task_type, status }),
        ]),
      ),
    );
    const counted = Object.fromEntries(
      TASK_TYPES.flatMap((task_type) => TASK_STATUSES.map((status) => [`${task_type} ${status}`, 0])),
    );
    for (const row of rows) counted[`${row.taskType} ${row.status}`] = row._count._all;
    expect(gauge).toEqual(counted);

    expect(sum(after, 'task_manager_redis_up')).toBe(1);
    expect(sum(after, 'task_manager_workers')).toBeGreaterThanOrEqual(1);
    expect(sum(after, 'task_manager_worker_slots')).toBeGreaterThanOrEqual(1);
  });

  it('counts bulk cancels and retries once per task', async () => {
    const LOW_HEALTH_CHECKS = { task_type: 'health_check', priority: 'low' };
    const kb = kbs.kb('bulk');
    const before = (await scrape()).samples;
    for (let i = 0; i < 3; i++) await create({ kb_id: kb, priority: 'low', schedule_for: FAR_FUTURE });
    const bulk = (action: string, filter: Record<string, unknown>) =>
      request(t.http).post(`/api/v1/tasks/bulk/${action}`).send(filter).expect(200);
    expect((await bulk('cancel', { kb_id: kb })).body).toMatchObject({ status: 'completed', affected: 3 });
    expect((await bulk('retry', { kb_id: kb, status: 'cancelled' })).body).toMatchObject({
      status: 'completed',
      affected: 3,
    });
    await balanced();
    expect((await bulk('cancel', { kb_id: kb })).body).toMatchObject({ status: 'completed', affected: 3 });
    const after = (await scrape()).samples;
    const delta = (event: string) =>
      sum(after, `task_manager_tasks_${event}_total`, LOW_HEALTH_CHECKS) -
      sum(before, `task_manager_tasks_${event}_total`, LOW_HEALTH_CHECKS);
    expect({ created: delta('created'), cancelled: delta('cancelled'), retried: delta('retried') }).toEqual({
      created: 3,
      cancelled: 6,
      retried: 3,
    });
    await balanced();
  });

  it('passes promtool check metrics', async () => {
    expect(promtoolProblems((await scrape()).text)).toEqual({ status: 0, problems: '' });
  });
});

describe('GET /metrics while Redis is down (e2e)', () => {
  let t: TestApp;
  let redis: Awaited<ReturnType<typeof startRedis>>;

  beforeAll(async () => {
    redis = await startRedis();
    t = await createTestApp({ REDIS_URL: redis.url });
  });

  afterAll(async () => {
    // BullMQ's workers close only once they reach Redis again.
    if (redis.child.exitCode !== null || redis.child.signalCode !== null) redis = await startRedis(redis.port);
    await waitFor(
      () => request(t.http).get('/health'),
      (res) => res.status === 200,
      { what: 'the app to see Redis again' },
    );
    await t.close();
    await redis.stop('SIGKILL');
  });

  it('still answers, with task_manager_redis_up 0 and the PostgreSQL-derived gauges, and 1 again once Redis is back', async () => {
    const value = (text: string, series: string) => parse(text).find((s) => s.name === series)?.value;
    expect(value((await request(t.http).get('/metrics').expect(200)).text, 'task_manager_redis_up')).toBe(1);
    await redis.stop('SIGKILL');
    const down = await waitFor(
      async () => (await request(t.http).get('/metrics').expect(200)).text,
      (text) => value(text, 'task_manager_redis_up') === 0,
      { what: 'task_manager_redis_up to fall to 0' },
    );
    expect(parse(down).filter((s) => s.name === 'task_manager_tasks')).toHaveLength(
      TASK_TYPES.length * TASK_STATUSES.length,
    );

    redis = await startRedis(redis.port);
    await waitFor(
      async () => value((await request(t.http).get('/metrics').expect(200)).text, 'task_manager_redis_up'),
      (up) => up === 1,
      { what: 'task_manager_redis_up to be 1 again' },
    );
  });
});

/**
 * API and worker in separate processes: each counts what it does (the API creates, cancels
 * and retries; the worker runs tasks and starts children), the worker serves its own
 * /metrics on WORKER_METRICS_PORT, and the counters' increases summed over both processes
 * match the change of the in-flight gauge both read from PostgreSQL.
 */
describe('GET /metrics with API and worker processes apart (e2e)', () => {
  let t: TestApp;
  let worker: ServiceProcess;
  let workerMetrics: string;
  const kbs = new KbTracker();

  beforeAll(async () => {
    t = await createTestApp({}, AppRole.Api);
    const port = await freePort();
    worker = await startService('worker', {
      QUEUE_PREFIX: t.prefix,
      WORKER_METRICS_PORT: String(port),
      HOST: '127.0.0.1',
    });
    workerMetrics = `http://127.0.0.1:${port}/metrics`;
  });

  afterAll(async () => {
    const open = await t.prisma.task.findMany({
      where: { kbId: { in: kbs.ids }, status: { in: ['queued', 'processing'] } },
    });
    for (const task of open) await request(t.http).delete(`/api/v1/tasks/${task.id}`);
    await worker?.stop();
    await t.close();
  });

  const scrapeBoth = async () => {
    const res = await fetch(workerMetrics);
    expect(res.status).toBe(200);
    const workerText = await res.text();
    return {
      api: parse((await request(t.http).get('/metrics').expect(200)).text),
      worker: parse(workerText),
      workerText,
    };
  };
  const create = async (overrides: Record<string, unknown>): Promise<Body> =>
    (await request(t.http).post('/api/v1/tasks').send(taskRequest(overrides)).expect(201)).body;
  const waitForStatus = (id: string, status: string) =>
    waitFor(
      async () => (await request(t.http).get(`/api/v1/tasks/${id}`).expect(200)).body as Body,
      (task) => task.status === status,
      { what: `task ${id} to be ${status}` },
    );

  it('counts each event in the process where it happened, and the sums add up', async () => {
    const kb = kbs.kb('split');
    const before = await scrapeBoth();

    const singles = [await create({ kb_id: kb }), await create({ kb_id: kb })];
    const parent = await create({
      kb_id: kb,
      task_type: 'batch_processing',
      payload: { items: [{ task_type: 'health_check', payload: {} }] },
    });
    const failing = await create({ kb_id: kb, payload: LONG_RUNNING, timeout: 1, max_retries: 0 });
    const queued = await create({ kb_id: kb, schedule_for: FAR_FUTURE });
    await request(t.http).delete(`/api/v1/tasks/${queued.id}`).expect(200);
    await waitForStatus(failing.id, 'failed');
    await request(t.http).post(`/api/v1/tasks/${failing.id}/retry`).expect(200);
    await waitForStatus(failing.id, 'failed');
    for (const task of [...singles, parent]) await waitForStatus(task.id, 'completed');

    // Polled: the worker's last counter increments may trail the task's visible end by a moment.
    const after = await waitFor(
      () => scrapeBoth(),
      (now) =>
        sum(now.worker, 'task_manager_tasks_completed_total', { task_type: 'batch_processing' }) >
        sum(before.worker, 'task_manager_tasks_completed_total', { task_type: 'batch_processing' }),
      { what: "the worker's count of the parent's completion" },
    );
    const delta = (process: 'api' | 'worker', event: string, task_type = 'health_check') =>
      sum(after[process], `task_manager_tasks_${event}_total`, { task_type }) -
      sum(before[process], `task_manager_tasks_${event}_total`, { task_type });
    const perProcess = (process: 'api' | 'worker') =>
      Object.fromEntries(['created', 'retried', 'completed', 'failed', 'cancelled'].map((e) => [e, delta(process, e)]));
    // health_check: the API created 2 singles, the failing and the queued task, cancelled one and retried one;
    // the worker started the parent's child and saw three complete and the failing one fail twice.
    expect(perProcess('api')).toEqual({ created: 4, retried: 1, completed: 0, failed: 0, cancelled: 1 });
    expect(perProcess('worker')).toEqual({ created: 1, retried: 0, completed: 3, failed: 2, cancelled: 0 });

    for (const task_type of TASK_TYPES) {
      const increase = (event: string) =>
        (['api', 'worker'] as const).reduce((n, p) => n + delta(p, event, task_type), 0);
      const inFlight = (samples: Sample[]) =>
        IN_FLIGHT.reduce((n, status) => n + sum(samples, 'task_manager_tasks', { task_type, status }), 0);
      const entered = increase('created') + increase('retried');
      const leftOrInFlight =
        increase('completed') + increase('failed') + increase('cancelled') + inFlight(after.api) - inFlight(before.api);
      expect({ task_type, entered }).toEqual({ task_type, entered: leftOrInFlight });
    }
    expect(promtoolProblems(after.workerText)).toEqual({ status: 0, problems: '' });
  });
});
