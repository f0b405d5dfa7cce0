import { Client } from 'pg';
import request from 'supertest';
import { settledWithin } from '../../src/common/utils/settled-within';
import { AppRole } from '../../src/config/env.validation';
import { TaskQueueService } from '../../src/queues/task-queue.service';
import { WorkerDirectoryService } from '../../src/queues/worker-directory.service';
import { taskRequest } from '../factories/task.factory';
import { ServiceProcess, startService } from '../setup/processes';
import { createTestApp, TestApp, uniqueKb, waitFor } from '../setup/test-app';
import { TEST_DATABASE_URL } from '../setup/test-env';

/**
 * Faults in worker processes: each test runs the API in this process and the workers as
 * real child processes (`APP_ROLE=worker`), then kills or signals them.
 */
describe('Worker faults (e2e)', () => {
  let t: TestApp;
  let workerEnv: Record<string, string>;
  const workers: ServiceProcess[] = [];
  const kb = uniqueKb('faults');

  beforeAll(async () => {
    t = await createTestApp({}, AppRole.Api);
    workerEnv = {
      QUEUE_PREFIX: t.prefix,
      WORKER_LOCK_DURATION_MS: '2000',
      WORKER_STALLED_INTERVAL_MS: '1000',
      WORKER_HEARTBEAT_MS: '500',
    };
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop('SIGKILL')));
  });

  afterAll(async () => {
    await t.close();
  });

  const worker = async (env: Record<string, string> = {}) => {
    const w = await startService('worker', { ...workerEnv, ...env });
    workers.push(w);
    return w;
  };
  /** A real health_check that probes for `seconds` and honours its AbortSignal. */
  const longTask = async (seconds: number) =>
    (
      await request(t.http)
        .post('/api/v1/tasks')
        .send(
          taskRequest({
            kb_id: kb,
            max_retries: 2,
            payload: { checks: ['database'], samples: seconds * 10, interval_ms: 100 },
          }),
        )
        .expect(201)
    ).body.id as string;
  const task = (id: string) => t.prisma.task.findUniqueOrThrow({ where: { id } });
  const processingOn = (id: string) =>
    waitFor(
      () => task(id),
      (row) => row.status === 'processing' && row.workerId !== null,
      { what: 'processing' },
    );
  const settled = (id: string, timeoutMs = 30000) =>
    waitFor(
      () => task(id),
      (row) => ['completed', 'failed', 'cancelled'].includes(row.status),
      { timeoutMs, what: `task ${id} to settle` },
    );

  it('hands a task of a SIGKILLed worker to another worker, which completes it once', async () => {
    const first = await worker();
    const id = await longTask(3);
    const claimed = await processingOn(id);
    await first.stop('SIGKILL');
    await worker();
    const done = await settled(id);
    expect(done.status).toBe('completed');
    expect(done.attempt).toBe(2);
    expect(done.workerId).not.toBe(claimed.workerId);
    expect(done.errorMessage).toBeNull();
    console.log(`[faults] SIGKILL mid-task: 1 task, 1 worker killed, recovered by ${done.workerId}, lost 0`);
  });

  it('lets a running task finish on SIGTERM within the grace period, then exits cleanly', async () => {
    const w = await worker({ WORKER_SHUTDOWN_GRACE_MS: '20000' });
    const id = await longTask(2);
    const claimed = await processingOn(id);
    await w.stop('SIGTERM');
    const done = await task(id);
    // Nest closes every module, then re-raises the signal as the exit (what orchestrators expect).
    expect(w.output.join('')).toContain('Workers stopped');
    expect(done).toMatchObject({ status: 'completed', attempt: 1, workerId: claimed.workerId });
  });

  it('returns a task still running after the grace period to the queue for another worker', async () => {
    const w = await worker({ WORKER_SHUTDOWN_GRACE_MS: '1000' });
    const id = await longTask(6);
    await processingOn(id);
    await w.stop('SIGTERM');
    expect(w.output.join('')).toContain('they return to the queue');
    expect((await task(id)).status).toBe('queued');
    await worker();
    const done = await settled(id);
    expect(done.status).toBe('completed');
    expect(done.attempt).toBe(2);
  });

  it('exits within the grace period plus a bounded epsilon although PostgreSQL holds its writes, and the task completes elsewhere', async () => {
    const graceMs = 3000;
    const w = await worker({ WORKER_SHUTDOWN_GRACE_MS: String(graceMs) });
    const id = await longTask(6);
    const claimed = await processingOn(id);
    // Another transaction holds the task's row, so the worker's writes for it (progress, the
    // hand-back) wait as they would on a slow or locked database. A shutdown that waits for
    // them (the hand-back's UPDATE, the pool's close) would never end while the row is held.
    const blocker = new Client({ connectionString: TEST_DATABASE_URL });
    await blocker.connect();
    let exitMs: number;
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE', [id]);
      const signalledAt = Date.now();
      // A bound on a deadline, not on speed: the grace, a small hand-back, slack for a loaded machine.
      await settledWithin(w.stop('SIGTERM'), graceMs + 2500);
      exitMs = Date.now() - signalledAt;
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      await blocker.end();
    }
    console.log(
      `[faults] SIGTERM with a ${graceMs} ms grace, the task outlasting it and its row locked: exited after ${exitMs} ms`,
    );
    expect(w.child.exitCode !== null || w.child.signalCode !== null).toBe(true);
    expect(exitMs).toBeLessThan(graceMs + 2500);
    expect(w.output.join('')).toContain('they return to the queue');
    await worker();
    const done = await settled(id, 60000);
    expect(done).toMatchObject({ status: 'completed', attempt: 2 });
    expect(done.workerId).not.toBe(claimed.workerId);
  }, 90000);

  it('stops a task running in another process when it is cancelled', async () => {
    await worker();
    const id = await longTask(20);
    await processingOn(id);
    const directory = t.app.get(WorkerDirectoryService);
    await waitFor(
      () => directory.liveWorkers(),
      (ws) => ws.some((w) => w.current_task_ids.includes(id)),
      { what: 'worker to report the task' },
    );
    const cancelledAt = Date.now();
    await request(t.http).delete(`/api/v1/tasks/${id}`).expect(200);
    // The handler's abort fails its BullMQ job as "canceled" in the worker process.
    const job = await waitFor(
      async () => (await t.app.get(TaskQueueService).queue('health_check').getJob(id)) ?? null,
      (j) => j?.failedReason === 'Task was canceled',
      { timeoutMs: 5000, intervalMs: 20, what: 'the worker to abort the handler' },
    );
    const stoppedAfterMs = (job?.finishedOn ?? Date.now()) - cancelledAt;
    console.log(`[faults] cancel across processes: handler stopped ${stoppedAfterMs} ms after DELETE`);
    expect(stoppedAfterMs).toBeLessThan(3000);
    const row = await task(id);
    expect(row.status).toBe('cancelled');
    expect(row.result).toBeNull();
  });

  it('loses nothing when the workers are restarted one by one during a run', async () => {
    const rollingKb = uniqueKb('rolling');
    const env = { WORKER_SHUTDOWN_GRACE_MS: '5000' };
    const running = [await worker(env), await worker(env)];
    for (let i = 0; i < 2; i++) {
      const body = Array.from({ length: 500 }, () =>
        taskRequest({ kb_id: rollingKb, payload: { checks: ['database'] } }),
      );
      await request(t.http).post('/api/v1/tasks/batch').send(body).expect(201);
    }
    const completed = () => t.prisma.task.count({ where: { kbId: rollingKb, status: 'completed' } });
    for (const old of running) {
      const before = await completed();
      await waitFor(completed, (n) => n >= Math.min(before + 100, 1000), {
        timeoutMs: 30000,
        what: 'progress before the next restart',
      });
      await old.stop('SIGTERM');
      await worker(env);
    }
    await waitFor(completed, (n) => n === 1000, { timeoutMs: 60000, what: 'all 1,000 tasks to complete' });
    const rows = await t.prisma.task.groupBy({ by: ['status'], where: { kbId: rollingKb }, _count: { _all: true } });
    expect(rows.map((r) => [r.status, r._count._all])).toEqual([['completed', 1000]]);
    console.log(
      '[faults] rolling restart of 2 workers (SIGTERM, then a new one) during 1,000 tasks: completed 1000, lost 0',
    );
  }, 120000);
});
