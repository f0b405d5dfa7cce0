import request from 'supertest';
import { WorkerHeartbeatService } from '../../src/workers/worker-heartbeat.service';
import { taskRequest } from '../factories/task.factory';
import { createTestApp, TestApp, KbTracker, uniqueKb, waitFor } from '../setup/test-app';

type Body = Record<string, any>;

const FAR_FUTURE = '2999-01-01T00:00:00.000Z';
/** Times out on its only attempt after a second: a task that ends failed. */
const FAILING = { payload: { samples: 100, interval_ms: 100 }, timeout: 1, max_retries: 0 };

describe('Stats, health, metrics and docs (e2e)', () => {
  let t: TestApp;
  let workerId: string;
  const kbs = new KbTracker();
  const kb = kbs.kb;

  const create = async (overrides: Record<string, unknown>): Promise<Body> =>
    (await request(t.http).post('/api/v1/tasks').send(taskRequest(overrides)).expect(201)).body;

  const waitForStatus = (id: string, status: string) =>
    waitFor(
      async () => (await request(t.http).get(`/api/v1/tasks/${id}`).expect(200)).body as Body,
      (task) => task.status === status,
      { what: `task ${id} to be ${status}` },
    );

  const thisWorker = async (): Promise<Body | undefined> => {
    const res = await request(t.http).get('/api/v1/stats/system').expect(200);
    return (res.body.workers as Body[]).find((w) => w.id === workerId);
  };

  beforeAll(async () => {
    t = await createTestApp();
    workerId = t.app.get(WorkerHeartbeatService).workerId;
  });

  afterAll(async () => {
    const open = await t.prisma.task.findMany({
      where: { kbId: { in: kbs.ids }, status: { in: ['queued', 'processing'] } },
    });
    for (const task of open) await request(t.http).delete(`/api/v1/tasks/${task.id}`);
    await t.close();
  });

  describe('GET /api/v1/stats/tasks', () => {
    it('counts one knowledge base exactly: statuses, types, success rate and mean run time', async () => {
      const label = kb('stats');
      const completed = [
        await create({ kb_id: label }),
        await create({ kb_id: label, payload: { samples: 3, interval_ms: 50 } }),
      ];
      const failed = await create({ kb_id: label, ...FAILING });
      const cancelled = await create({ kb_id: label, schedule_for: FAR_FUTURE });
      await create({ kb_id: label, schedule_for: FAR_FUTURE });
      await request(t.http).delete(`/api/v1/tasks/${cancelled.id}`).expect(200);
      for (const task of completed) await waitForStatus(task.id, 'completed');
      await waitForStatus(failed.id, 'failed');

      const res = await request(t.http).get('/api/v1/stats/tasks').query({ kb_id: label }).expect(200);
      expect(res.body).toEqual({
        total_tasks: 5,
        queued_tasks: 1,
        processing_tasks: 0,
        completed_tasks: 2,
        failed_tasks: 1,
        cancelled_tasks: 1,
        avg_process_time: expect.any(Number),
        success_rate: 66.7,
        status_breakdown: { queued: 1, processing: 0, completed: 2, failed: 1, cancelled: 1 },
        type_breakdown: { health_check: 5 },
      });
      // The mean of the two completed runs, one of which takes at least two 50 ms pauses.
      expect(res.body.avg_process_time).toBeGreaterThan(0.05);
      expect(res.body.avg_process_time).toBeLessThan(5);
    });

    it('answers zeros for a knowledge base without tasks', async () => {
      const res = await request(t.http)
        .get('/api/v1/stats/tasks')
        .query({ kb_id: uniqueKb('empty') })
        .expect(200);
      expect(res.body).toMatchObject({
        total_tasks: 0,
        completed_tasks: 0,
        avg_process_time: 0,
        success_rate: 0,
        type_breakdown: {},
      });
    });

    it('counts every knowledge base without a filter', async () => {
      const mine = await t.prisma.task.count({ where: { kbId: { in: kbs.ids } } });
      const all = await request(t.http).get('/api/v1/stats/tasks').expect(200);
      const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
      expect(all.body.total_tasks).toBeGreaterThanOrEqual(mine);
      expect(sum(all.body.status_breakdown)).toBe(all.body.total_tasks);
      expect(sum(all.body.type_breakdown)).toBe(all.body.total_tasks);
    });

    it('refuses an invalid kb_id with 400', async () => {
      const res = await request(t.http)
        .get('/api/v1/stats/tasks')
        .query({ kb_id: 'x'.repeat(129) })
        .expect(400);
      expect(res.body.code).toBe('INVALID_REQUEST');
    });
  });

  describe('GET /api/v1/stats/system', () => {
    it("lists this app's worker, whose counts grow as it runs tasks", async () => {
      const before = await waitFor(thisWorker, (w) => w !== undefined, { what: 'the first heartbeat' });
      const res = await request(t.http).get('/api/v1/stats/system').expect(200);
      expect(res.body.total_workers).toBeGreaterThanOrEqual(1);
      expect(res.body.active_workers + res.body.idle_workers).toBe(res.body.total_workers);
      expect(res.body.queue_size).toEqual(expect.any(Number));
      expect(res.body.processing_rate).toBeGreaterThanOrEqual(0);
      expect(res.body.task_stats).toMatchObject({
        total_tasks: expect.any(Number),
        status_breakdown: expect.any(Object),
      });
      expect(before).toMatchObject({
        id: workerId,
        status: expect.stringMatching(/^(idle|busy)$/),
        concurrency: expect.any(Number),
        started_at: expect.any(String),
        last_heartbeat: expect.any(String),
      });

      const label = kb('system');
      const ok = await create({ kb_id: label });
      const bad = await create({ kb_id: label, ...FAILING });
      await waitForStatus(ok.id, 'completed');
      await waitForStatus(bad.id, 'failed');

      // The heartbeat (1 s in tests) carries the new counts to Redis.
      const after = (await waitFor(
        thisWorker,
        (w) =>
          w !== undefined &&
          w.tasks_succeeded >= before!.tasks_succeeded + 1 &&
          w.tasks_failed >= before!.tasks_failed + 1,
        { what: 'the heartbeat to report the finished tasks' },
      ))!;
      expect(after.tasks_processed).toBeGreaterThanOrEqual(before!.tasks_processed + 2);
      expect(after.tasks_processed).toBe(after.tasks_succeeded + after.tasks_failed);
      expect(after.average_task_time).toBeGreaterThan(0);
      expect(Date.parse(after.last_heartbeat)).toBeGreaterThan(Date.parse(before!.last_heartbeat));

      const system = await request(t.http).get('/api/v1/stats/system').expect(200);
      // Two tasks finished within the last minute.
      expect(system.body.processing_rate).toBeGreaterThan(0);
      expect(system.body.active_workers).toBeGreaterThanOrEqual(1);
    });
  });

  describe('health', () => {
    it('GET /health answers 200 in the documented shape with every dependency healthy', async () => {
      const res = await request(t.http).get('/health').expect(200);
      expect(res.body).toMatchObject({
        status: 'healthy',
        service: 'task-manager',
        version: expect.stringMatching(/^\d+\.\d+\.\d+/),
        details: {
          database: { status: 'healthy' },
          redis: { status: 'healthy', size: expect.any(Number) },
          queue: { status: 'healthy' },
        },
      });
    });

    it('GET /health/live and /health/ready answer 200', async () => {
      const live = await request(t.http).get('/health/live').expect(200);
      expect(live.body).toMatchObject({ status: 'healthy', service: 'task-manager' });
      const ready = await request(t.http).get('/health/ready').expect(200);
      expect(ready.body).toMatchObject({
        status: 'healthy',
        details: { database: { status: 'healthy' }, redis: { status: 'healthy' } },
      });
    });
  });

  describe('GET /metrics', () => {
    it('exposes the task, queue and HTTP metrics with labels, and the Node defaults', async () => {
      const label = kb('metrics');
      const ok = await create({ kb_id: label });
      const bad = await create({ kb_id: label, priority: 'high', ...FAILING });
      await waitForStatus(ok.id, 'completed');
      await waitForStatus(bad.id, 'failed');

      const res = await request(t.http).get('/metrics').expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      const text = res.text;
      const value = (series: string) => {
        const line = text.split('\n').find((l) => l.startsWith(`${series} `));
        return line === undefined ? undefined : Number(line.slice(series.length + 1));
      };
      expect(
        value('task_manager_tasks_created_total{task_type="health_check",priority="normal"}'),
      ).toBeGreaterThanOrEqual(1);
      expect(
        value('task_manager_tasks_completed_total{task_type="health_check",priority="normal"}'),
      ).toBeGreaterThanOrEqual(1);
      expect(value('task_manager_tasks_failed_total{task_type="health_check",priority="high"}')).toBeGreaterThanOrEqual(
        1,
      );
      expect(
        value('task_manager_task_attempts_failed_total{task_type="health_check",priority="high",reason="timeout"}'),
      ).toBeGreaterThanOrEqual(1);
      expect(
        value('task_manager_task_duration_seconds_count{task_type="health_check",status="completed"}'),
      ).toBeGreaterThanOrEqual(1);
      expect(text).toMatch(
        /^task_manager_task_duration_seconds_bucket\{le="[^"]+",task_type="health_check",status="completed"\} \d+$/m,
      );
      expect(value('task_manager_queue_depth{queue="health_check",state="waiting"}')).toEqual(expect.any(Number));
      expect(text).toMatch(
        /^task_manager_http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/tasks",status_code="201"\} \d+$/m,
      );
      expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    });
  });

  describe('API docs', () => {
    it('GET /docs-json documents every path of the spec and the shared error schema', async () => {
      const res = await request(t.http).get('/docs-json').expect(200);
      const doc = res.body as {
        openapi: string;
        paths: Record<string, Record<string, any>>;
        components: { schemas: Record<string, any> };
      };
      expect(doc.openapi).toMatch(/^3\./);
      const expected: Record<string, string[]> = {
        '/api/v1/tasks': ['post', 'get'],
        '/api/v1/tasks/batch': ['post'],
        '/api/v1/tasks/{task_id}': ['get', 'delete'],
        '/api/v1/tasks/{task_id}/retry': ['post'],
        '/api/v1/tasks/{task_id}/progress': ['put'],
        '/api/v1/stats/tasks': ['get'],
        '/api/v1/stats/system': ['get'],
        '/api/v1/queues/info': ['get'],
        '/health': ['get'],
      };
      for (const [path, methods] of Object.entries(expected)) {
        expect(doc.paths).toHaveProperty([path]);
        for (const method of methods) expect(Object.keys(doc.paths[path])).toContain(method);
      }
      expect(doc.components.schemas.ErrorResponseDto).toMatchObject({
        properties: expect.objectContaining({
          error: expect.any(Object),
          message: expect.any(Object),
          code: expect.any(Object),
          details: expect.any(Object),
        }),
      });
      const notFound = doc.paths['/api/v1/tasks/{task_id}'].delete.responses['404'];
      expect(JSON.stringify(notFound)).toContain('#/components/schemas/ErrorResponseDto');
    });

    it('GET /docs serves the Swagger UI', async () => {
      const res = await request(t.http).get('/docs').redirects(1).expect(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.text).toContain('swagger');
    });
  });
});
