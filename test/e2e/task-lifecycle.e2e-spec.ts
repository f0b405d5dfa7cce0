import request from 'supertest';
import { TaskQueueService } from '../../src/queues/task-queue.service';
import { WorkerHeartbeatService } from '../../src/workers/worker-heartbeat.service';
import { taskRequest } from '../factories/task.factory';
import { createTestApp, TestApp, KbTracker, waitFor } from '../setup/test-app';

type TaskBody = Record<string, any>;

/** A health_check that probes every 100 ms for ~20 s unless cancelled or timed out: the long-running task. */
const LONG_RUNNING = { samples: 200, interval_ms: 100 };
const FAR_FUTURE = '2999-01-01T00:00:00.000Z';

describe('Task lifecycle (e2e)', () => {
  let t: TestApp;
  let queues: TaskQueueService;
  const kbs = new KbTracker();
  const kb = kbs.kb;

  const create = async (overrides: Record<string, unknown>): Promise<TaskBody> =>
    (await request(t.http).post('/api/v1/tasks').send(taskRequest(overrides)).expect(201)).body;

  const get = async (id: string): Promise<TaskBody> =>
    (await request(t.http).get(`/api/v1/tasks/${id}`).expect(200)).body;

  const waitForStatus = (id: string, status: string, timeoutMs = 15000) =>
    waitFor(
      () => get(id),
      (task) => task.status === status,
      { timeoutMs, what: `task ${id} to be ${status}` },
    );

  const expectError = (body: TaskBody, code: string) => {
    expect(body).toEqual({ error: expect.any(String), message: expect.any(String), code, details: expect.any(Object) });
  };

  beforeAll(async () => {
    t = await createTestApp();
    queues = t.app.get(TaskQueueService);
  });

  afterAll(async () => {
    // Leave nothing running or waiting for the next file's app to pick up.
    const open = await t.prisma.task.findMany({
      where: { kbId: { in: kbs.ids }, status: { in: ['queued', 'processing'] } },
    });
    for (const task of open) await request(t.http).delete(`/api/v1/tasks/${task.id}`);
    await t.close();
  });

  it('runs a health_check from queued through processing to completed with a real result', async () => {
    const created = await create({ kb_id: kb('happy'), payload: { samples: 5, interval_ms: 200 } });
    expect(created).toMatchObject({ status: 'queued', progress: 0, retry_count: 0, started_at: null, worker_id: null });

    const running = await waitForStatus(created.id, 'processing');
    expect(running.worker_id).toBe(t.app.get(WorkerHeartbeatService).workerId);
    expect(running.started_at).not.toBeNull();
    expect(running.completed_at).toBeNull();
    expect(running.progress).toBeLessThan(100);
    expect(running.queue_position).toBe(0);

    const done = await waitForStatus(created.id, 'completed');
    expect(done).toMatchObject({
      progress: 100,
      retry_count: 0,
      error_message: '',
      worker_id: running.worker_id,
      started_at: running.started_at,
      queue_position: 0,
    });
    expect(Date.parse(done.completed_at)).toBeGreaterThanOrEqual(Date.parse(done.started_at));
    expect(Date.parse(done.started_at)).toBeGreaterThanOrEqual(Date.parse(done.created_at));
    expect(done.estimated_completion).toBe(done.completed_at);
    expect(done.result).toMatchObject({
      status: 'healthy',
      checks: {
        database: {
          status: 'healthy',
          samples: 5,
          failures: 0,
          latency_ms: expect.objectContaining({ avg: expect.any(Number) }),
        },
        redis: { status: 'healthy', samples: 5, failures: 0 },
        queues: { status: 'healthy', samples: 5, failures: 0 },
      },
      checked_at: expect.any(String),
    });
    const stored = await t.prisma.task.findUnique({ where: { id: created.id } });
    expect(stored?.attempt).toBe(1);
  });

  it('times out on every attempt, retries max_retries times, then fails', async () => {
    const created = await create({ kb_id: kb('timeout'), payload: LONG_RUNNING, timeout: 1, max_retries: 2 });

    // Between attempts the task goes back to queued with the error of the attempt that failed.
    const between = await waitFor(
      () => t.prisma.task.findUnique({ where: { id: created.id } }),
      (task) => task !== null && task.retryCount >= 1,
      { what: 'the first failed attempt' },
    );
    expect(between?.errorMessage).toBe('Task timed out after 1s');

    const failed = await waitForStatus(created.id, 'failed');
    expect(failed.retry_count).toBe(2);
    expect(failed.error_message).toContain('timed out');
    expect(failed.result).toBeNull();
    expect(failed.completed_at).not.toBeNull();
    expect(failed.progress).toBeLessThan(100);

    const stored = await t.prisma.task.findUnique({ where: { id: created.id } });
    expect(stored?.attempt).toBe(3);
    const job = await queues.queue('health_check').getJob(created.id);
    expect(job?.attemptsMade).toBe(3);
    expect(job?.failedReason).toContain('timed out');
    expect(await job?.getState()).toBe('failed');
  });

  describe('cancel', () => {
    it('cancels a queued task: its job is removed and it never runs, even after its schedule time', async () => {
      const scheduleFor = new Date(Date.now() + 1000);
      const created = await create({ kb_id: kb('cancelq'), schedule_for: scheduleFor.toISOString() });
      expect(await queues.queue('health_check').getJob(created.id)).toBeDefined();

      const res = await request(t.http).delete(`/api/v1/tasks/${created.id}`).expect(200);
      expect(res.body).toEqual({ message: 'Task canceled successfully', task_id: created.id });
      expect(await queues.queue('health_check').getJob(created.id)).toBeUndefined();

      const cancelled = await get(created.id);
      expect(cancelled).toMatchObject({ status: 'cancelled', queue_position: 0, started_at: null, worker_id: null });
      expect(cancelled.completed_at).not.toBeNull();

      // Watch it until well past its schedule time: it must stay cancelled and never be picked up.
      const after = await waitFor(
        () => t.prisma.task.findUnique({ where: { id: created.id } }),
        (task) => task?.status !== 'cancelled' || Date.now() > scheduleFor.getTime() + 1000,
        { what: 'the schedule time to pass' },
      );
      expect(after).toMatchObject({ status: 'cancelled', attempt: 0, startedAt: null, workerId: null });
      expect(await queues.queue('health_check').getJob(created.id)).toBeUndefined();
    });

    it('cancels a running task: the handler stops, the result is discarded and the status stays cancelled', async () => {
      const created = await create({ kb_id: kb('cancelrun'), payload: LONG_RUNNING });
      const running = await waitFor(
        () => get(created.id),
        (task) => task.status === 'processing' && task.progress > 0,
        {
          what: 'the task to run and report progress',
        },
      );
      expect(running.progress).toBeLessThan(100);
      const job = await queues.queue('health_check').getJob(created.id);
      expect(await job?.getState()).toBe('active');

      const res = await request(t.http).delete(`/api/v1/tasks/${created.id}`).expect(200);
      expect(res.body).toEqual({ message: 'Task canceled successfully', task_id: created.id });
      const cancelledAt = Date.now();

      // The handler honours the signal: the job ends (instead of running its remaining ~20 s) within ~2 s.
      await waitFor(
        () => queues.queue('health_check').getJobState(created.id),
        (state) => state === 'failed',
        {
          timeoutMs: 2000,
          what: 'the running job to stop',
        },
      );
      expect(Date.now() - cancelledAt).toBeLessThan(2000);
      const stoppedJob = await queues.queue('health_check').getJob(created.id);
      expect(stoppedJob?.failedReason).toBe('Task was canceled');
      expect(stoppedJob?.attemptsMade).toBe(1);
      expect(t.app.get(WorkerHeartbeatService).snapshot().current_task_ids).not.toContain(created.id);

      const cancelled = await get(created.id);
      expect(cancelled).toMatchObject({ status: 'cancelled', result: null, retry_count: 0 });
      const progressAtCancel = cancelled.progress;
      expect(progressAtCancel).toBeLessThan(100);

      // Several probe intervals later nothing has moved: no progress, no result, no retry.
      const later = await waitFor(
        () => get(created.id),
        (task) => task.status !== 'cancelled' || task.progress !== progressAtCancel || Date.now() - cancelledAt > 1000,
        { what: 'a second to pass after the cancel' },
      );
      expect(later).toMatchObject({ status: 'cancelled', result: null, progress: progressAtCancel, retry_count: 0 });
      expect((await t.prisma.task.findUnique({ where: { id: created.id } }))?.attempt).toBe(1);
    });

    it('refuses a second cancel with 409 TASK_NOT_CANCELABLE', async () => {
      const created = await create({ kb_id: kb('cancel2'), schedule_for: FAR_FUTURE });
      await request(t.http).delete(`/api/v1/tasks/${created.id}`).expect(200);
      const res = await request(t.http).delete(`/api/v1/tasks/${created.id}`).expect(409);
      expectError(res.body, 'TASK_NOT_CANCELABLE');
      expect(res.body.details).toMatchObject({ task_id: created.id, status: 'cancelled' });
    });

    it('refuses to cancel a completed task with 409 and leaves it completed', async () => {
      const created = await create({ kb_id: kb('cancelcomp') });
      await waitForStatus(created.id, 'completed');
      const res = await request(t.http).delete(`/api/v1/tasks/${created.id}`).expect(409);
      expectError(res.body, 'TASK_NOT_CANCELABLE');
      expect(res.body.details).toMatchObject({ task_id: created.id, status: 'completed' });
      expect((await get(created.id)).status).toBe('completed');
    });
  });

  describe('retry', () => {
    it('re-queues a failed task, counts the retry, and runs it again', async () => {
      const created = await create({ kb_id: kb('retryfail'), payload: LONG_RUNNING, timeout: 1, max_retries: 0 });
      const failed = await waitForStatus(created.id, 'failed');
      expect(failed.retry_count).toBe(0);

      const res = await request(t.http).post(`/api/v1/tasks/${created.id}/retry`).expect(200);
      expect(res.body).toMatchObject({
        id: created.id,
        status: 'queued',
        retry_count: 1,
        progress: 0,
        result: null,
        started_at: null,
        completed_at: null,
        worker_id: null,
      });

      // Same payload and timeout, so the second run times out again — but it did run, dispatched
      // by the retry itself (the reconciler would need over 5 s to notice it).
      const again = await waitFor(
        () => t.prisma.task.findUnique({ where: { id: created.id } }),
        (task) => task?.status === 'failed' && task.attempt === 2,
        { timeoutMs: 4000, what: 'the retried run to fail again' },
      );
      expect(again).toMatchObject({ retryCount: 1, errorMessage: 'Task timed out after 1s' });
      expect(again?.startedAt?.getTime()).toBeGreaterThan(Date.parse(failed.started_at));
    });

    it('re-queues a task cancelled while running, dispatching it again at once', async () => {
      const created = await create({ kb_id: kb('retryrun'), payload: LONG_RUNNING });
      await waitForStatus(created.id, 'processing');
      await request(t.http).delete(`/api/v1/tasks/${created.id}`).expect(200);
      await waitFor(
        () => queues.queue('health_check').getJobState(created.id),
        (state) => state === 'failed',
        {
          what: 'the cancelled job to end',
        },
      );

      const retriedAt = Date.now();
      const res = await request(t.http).post(`/api/v1/tasks/${created.id}/retry`).expect(200);
      expect(res.body).toMatchObject({ status: 'queued', retry_count: 1 });

      // Well before the reconciler would notice (5 s settle time), the new job runs as a second attempt.
      const rerun = await waitFor(
        () => t.prisma.task.findUnique({ where: { id: created.id } }),
        (task) => task?.status === 'processing' && task.attempt === 2,
        { timeoutMs: 3000, what: 'the retried task to run' },
      );
      expect(rerun?.startedAt?.getTime()).toBeGreaterThanOrEqual(retriedAt - 5);
      await request(t.http).delete(`/api/v1/tasks/${created.id}`).expect(200);
    });

    it('re-queues a running task retried straight after its cancel, without waiting for its old job to end', async () => {
      const created = await create({ kb_id: kb('retryrace'), payload: LONG_RUNNING });
      await waitForStatus(created.id, 'processing');
      await request(t.http).delete(`/api/v1/tasks/${created.id}`).expect(200);
      const res = await request(t.http).post(`/api/v1/tasks/${created.id}/retry`).expect(200);
      expect(res.body).toMatchObject({ status: 'queued', retry_count: 1 });

      const rerun = await waitFor(
        () => t.prisma.task.findUnique({ where: { id: created.id } }),
        (task) => task?.status === 'processing' && task.attempt === 2,
        { timeoutMs: 3000, what: 'the retried task to run' },
      );
      expect(rerun?.retryCount).toBe(1);
      await request(t.http).delete(`/api/v1/tasks/${created.id}`).expect(200);
    });

    it('re-queues a task cancelled before it ran, which then completes', async () => {
      const created = await create({
        kb_id: kb('retrycancel'),
        schedule_for: new Date(Date.now() + 500).toISOString(),
      });
      await request(t.http).delete(`/api/v1/tasks/${created.id}`).expect(200);

      const res = await request(t.http).post(`/api/v1/tasks/${created.id}/retry`).expect(200);
      expect(res.body).toMatchObject({ status: 'queued', retry_count: 1, completed_at: null });

      const done = await waitForStatus(created.id, 'completed');
      expect(done).toMatchObject({
        retry_count: 1,
        progress: 100,
        result: expect.objectContaining({ status: 'healthy' }),
      });
    });

    it('refuses to retry a completed task with 409 TASK_NOT_RETRYABLE', async () => {
      const created = await create({ kb_id: kb('retrycomp') });
      const done = await waitForStatus(created.id, 'completed');
      const res = await request(t.http).post(`/api/v1/tasks/${created.id}/retry`).expect(409);
      expectError(res.body, 'TASK_NOT_RETRYABLE');
      expect(res.body.details).toMatchObject({ task_id: created.id, status: 'completed' });
      expect(await get(created.id)).toMatchObject({
        status: 'completed',
        retry_count: 0,
        completed_at: done.completed_at,
      });
    });

    it('refuses to retry a queued task with 409 TASK_NOT_RETRYABLE', async () => {
      const created = await create({ kb_id: kb('retryq'), schedule_for: FAR_FUTURE });
      const res = await request(t.http).post(`/api/v1/tasks/${created.id}/retry`).expect(409);
      expectError(res.body, 'TASK_NOT_RETRYABLE');
      expect(res.body.details).toMatchObject({ task_id: created.id, status: 'queued' });
      expect((await get(created.id)).retry_count).toBe(0);
    });
  });

  describe('scheduling and estimates', () => {
    it('holds a task scheduled for later until its time, then runs it', async () => {
      const scheduleFor = new Date(Date.now() + 1500);
      const created = await create({ kb_id: kb('delayed'), schedule_for: scheduleFor.toISOString() });
      expect(created).toMatchObject({
        status: 'queued',
        schedule_for: scheduleFor.toISOString(),
        queue_position: null,
        started_at: null,
      });
      expect(await queues.queue('health_check').getJobState(created.id)).toBe('delayed');

      const early: TaskBody[] = [];
      const done = await waitFor(
        async () => {
          const polledAt = Date.now();
          const task = await get(created.id);
          if (polledAt < scheduleFor.getTime() - 50) early.push(task);
          return task;
        },
        (task) => task.status === 'completed',
        { what: 'the scheduled task to complete' },
      );
      expect(early.length).toBeGreaterThan(3);
      for (const task of early)
        expect(task).toMatchObject({ status: 'queued', queue_position: null, started_at: null, worker_id: null });
      expect(Date.parse(done.started_at)).toBeGreaterThanOrEqual(scheduleFor.getTime());
      expect(done.result).toMatchObject({ status: 'healthy' });
    });

    it('gives a waiting task a queue position and an estimated completion once run times are known', async () => {
      const label = kb('estimate');
      await waitForStatus((await create({ kb_id: label })).id, 'completed');

      // A task scheduled for later has no position, but an estimate of schedule time plus the mean run time.
      const later = await create({ kb_id: label, schedule_for: FAR_FUTURE });
      const estimated = await waitFor(
        () => get(later.id),
        (task) => task.estimated_completion !== null,
        {
          what: 'run times to be known to the estimator',
        },
      );
      expect(estimated.queue_position).toBeNull();
      expect(Date.parse(estimated.estimated_completion)).toBeGreaterThan(Date.parse(FAR_FUTURE));

      const due = await create({ kb_id: label });
      expect(due.status).toBe('queued');
      expect(due.queue_position).toBeGreaterThanOrEqual(1);
      expect(due.estimated_completion).not.toBeNull();
      expect(Date.parse(due.estimated_completion)).toBeGreaterThan(Date.parse(due.created_at));
      await waitForStatus(due.id, 'completed');
    });
  });
});
