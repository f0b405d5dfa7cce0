import request from 'supertest';
import { taskRequest } from '../factories/task.factory';
import { createTestApp, TestApp, uniqueKb, waitFor } from '../setup/test-app';

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

describe('Tasks API (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  const expectError = (body: Record<string, unknown>, code: string) => {
    expect(body).toEqual({ error: expect.any(String), message: expect.any(String), code, details: expect.any(Object) });
  };

  describe('POST /api/v1/tasks', () => {
    it('stores a task and answers 201 with the documented fields', async () => {
      const kb = uniqueKb('create');
      const res = await request(t.http)
        .post('/api/v1/tasks')
        .send(taskRequest({ kb_id: kb, priority: 'high', max_retries: 2, timeout: 60 }))
        .expect(201);
      expect(res.body).toMatchObject({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        task_type: 'health_check',
        status: 'queued',
        priority: 'high',
        kb_id: kb,
        payload: {},
        progress: 0,
        retry_count: 0,
        max_retries: 2,
        timeout: 60,
        error_message: '',
      });
      expect(typeof res.body.queue_position).toBe('number');
      expect(new Date(res.body.created_at).toISOString()).toBe(res.body.created_at);
      const stored = await t.prisma.task.findUnique({ where: { id: res.body.id } });
      expect(stored?.kbId).toBe(kb);
    });

    it('applies the documented defaults', async () => {
      const res = await request(t.http)
        .post('/api/v1/tasks')
        .send({ task_type: 'health_check', kb_id: uniqueKb('defaults'), payload: {} })
        .expect(201);
      expect(res.body).toMatchObject({ priority: 'normal', max_retries: 3, timeout: 300, schedule_for: null });
    });

    it.each([
      ['missing task_type', { task_type: undefined }, 'task_type'],
      ['unknown task_type', { task_type: 'make_coffee' }, 'task_type'],
      ['missing kb_id', { kb_id: undefined }, 'kb_id'],
      ['empty kb_id', { kb_id: '' }, 'kb_id'],
      ['kb_id not a string', { kb_id: 42 }, 'kb_id'],
      ['kb_id too long', { kb_id: 'k'.repeat(129) }, 'kb_id'],
      ['unknown priority', { priority: 'urgent' }, 'priority'],
      ['missing payload', { payload: undefined }, 'payload'],
      ['payload an array', { payload: [1, 2] }, 'payload'],
      ['payload a string', { payload: 'x' }, 'payload'],
      ['negative max_retries', { max_retries: -1 }, 'max_retries'],
      ['absurd max_retries', { max_retries: 1000000 }, 'max_retries'],
      ['fractional max_retries', { max_retries: 1.5 }, 'max_retries'],
      ['max_retries as string', { max_retries: '3' }, 'max_retries'],
      ['zero timeout', { timeout: 0 }, 'timeout'],
      ['absurd timeout', { timeout: 10 ** 9 }, 'timeout'],
      ['schedule_for not a date', { schedule_for: 'tomorrow' }, 'schedule_for'],
      ['schedule_for a number', { schedule_for: 1753712400 }, 'schedule_for'],
      ['unknown field', { colour: 'blue' }, 'colour'],
      ['bad health_check checks', { payload: { checks: ['coffee'] } }, 'payload.checks'],
    ])('refuses %s with 400 INVALID_REQUEST naming the field', async (_name, override, field) => {
      const body = taskRequest({ kb_id: uniqueKb('invalid'), ...override });
      for (const [key, value] of Object.entries(override)) if (value === undefined) Reflect.deleteProperty(body, key);
      const res = await request(t.http).post('/api/v1/tasks').send(body).expect(400);
      expectError(res.body, 'INVALID_REQUEST');
      expect(Object.keys(res.body.details.fields)).toContain(field);
      if (typeof body.kb_id === 'string' && body.kb_id !== '') {
        expect(await t.prisma.task.count({ where: { kbId: body.kb_id } })).toBe(0);
      }
    });

    it('refuses malformed JSON with 400 in the error shape', async () => {
      const res = await request(t.http)
        .post('/api/v1/tasks')
        .set('Content-Type', 'application/json')
        .send('{"task_type": "health_check",')
        .expect(400);
      expectError(res.body, 'INVALID_REQUEST');
    });

    it('refuses a JSON array or scalar body', async () => {
      for (const raw of ['[]', '"text"', '42', 'null']) {
        const res = await request(t.http).post('/api/v1/tasks').set('Content-Type', 'application/json').send(raw);
        expect(res.status).toBe(400);
        expectError(res.body, 'INVALID_REQUEST');
      }
    });
  });

  describe('POST /api/v1/tasks/batch', () => {
    it('creates every task and answers {tasks, count}', async () => {
      const kb = uniqueKb('batch');
      const res = await request(t.http)
        .post('/api/v1/tasks/batch')
        .send([taskRequest({ kb_id: kb }), taskRequest({ kb_id: kb, priority: 'low' }), taskRequest({ kb_id: kb })])
        .expect(201);
      expect(res.body.count).toBe(3);
      expect(res.body.tasks).toHaveLength(3);
      expect(res.body.tasks[1]).toMatchObject({ kb_id: kb, priority: 'low', status: expect.any(String) });
      expect(await t.prisma.task.count({ where: { kbId: kb } })).toBe(3);
    });

    it('is all-or-nothing: one bad item rejects the batch and stores nothing', async () => {
      const kb = uniqueKb('batchbad');
      const res = await request(t.http)
        .post('/api/v1/tasks/batch')
        .send([
          taskRequest({ kb_id: kb }),
          taskRequest({ kb_id: kb, task_type: 'nope' }),
          taskRequest({ kb_id: kb, timeout: -5 }),
        ])
        .expect(400);
      expectError(res.body, 'INVALID_REQUEST');
      expect(Object.keys(res.body.details.fields)).toEqual(expect.arrayContaining(['[1].task_type', '[2].timeout']));
      expect(await t.prisma.task.count({ where: { kbId: kb } })).toBe(0);
    });

    it('refuses an empty batch, a non-array body and non-object items', async () => {
      await request(t.http).post('/api/v1/tasks/batch').send([]).expect(400);
      await request(t.http).post('/api/v1/tasks/batch').send(taskRequest()).expect(400);
      const res = await request(t.http).post('/api/v1/tasks/batch').send([taskRequest(), 7]).expect(400);
      expect(Object.keys(res.body.details.fields)).toContain('[1]');
    });

    it('refuses a batch over 1000 items', async () => {
      const kb = uniqueKb('huge');
      const res = await request(t.http)
        .post('/api/v1/tasks/batch')
        .send(Array.from({ length: 1001 }, () => taskRequest({ kb_id: kb })))
        .expect(400);
      expectError(res.body, 'INVALID_REQUEST');
      expect(await t.prisma.task.count({ where: { kbId: kb } })).toBe(0);
    });
  });

  describe('GET /api/v1/tasks/{task_id}', () => {
    it('returns the task', async () => {
      const created = await request(t.http)
        .post('/api/v1/tasks')
        .send(taskRequest({ kb_id: uniqueKb('get') }))
        .expect(201);
      const res = await request(t.http).get(`/api/v1/tasks/${created.body.id}`).expect(200);
      expect(res.body.id).toBe(created.body.id);
      expect(res.body).toHaveProperty('result');
      expect(res.body).toHaveProperty('worker_id');
      expect(res.body).toHaveProperty('started_at');
      expect(res.body).toHaveProperty('estimated_completion');
    });

    it('answers 404 TASK_NOT_FOUND for unknown and malformed ids', async () => {
      for (const id of [UNKNOWN_ID, 'invalid_id', '1', "x'; DROP TABLE tasks; --"]) {
        const res = await request(t.http)
          .get(`/api/v1/tasks/${encodeURIComponent(id)}`)
          .expect(404);
        expectError(res.body, 'TASK_NOT_FOUND');
        expect(res.body.details.task_id).toBe(id);
      }
    });
  });

  describe('GET /api/v1/tasks', () => {
    let kb: string;
    beforeAll(async () => {
      kb = uniqueKb('list');
      const priorities = ['low', 'normal', 'high', 'critical', 'high'];
      for (const priority of priorities) {
        await request(t.http)
          .post('/api/v1/tasks')
          .send(taskRequest({ kb_id: kb, priority }))
          .expect(201);
      }
      await request(t.http)
        .post('/api/v1/tasks')
        .send(
          taskRequest({
            kb_id: kb,
            task_type: 'vector_storage',
            payload: { vectors: [{ values: [1, 0] }] },
            schedule_for: '2999-01-01T00:00:00Z',
          }),
        )
        .expect(201);
    });

    // The task scheduled for 2999 stays queued: another test's reconciler would pick it up.
    afterAll(async () => {
      await t.prisma.task.deleteMany({ where: { kbId: kb } });
    });

    it('filters by kb_id and paginates with a total', async () => {
      const res = await request(t.http).get('/api/v1/tasks').query({ kb_id: kb, page: 1, page_size: 4 }).expect(200);
      expect(res.body.tasks).toHaveLength(4);
      expect(res.body.pagination).toEqual({ page: 1, page_size: 4, total: 6, total_pages: 2 });
      const page2 = await request(t.http).get('/api/v1/tasks').query({ kb_id: kb, page: 2, page_size: 4 }).expect(200);
      expect(page2.body.tasks).toHaveLength(2);
      const ids = new Set([...res.body.tasks, ...page2.body.tasks].map((task: { id: string }) => task.id));
      expect(ids.size).toBe(6);
    });

    it('defaults to page 1 of 20, newest first', async () => {
      const res = await request(t.http).get('/api/v1/tasks').query({ kb_id: kb }).expect(200);
      expect(res.body.pagination).toMatchObject({ page: 1, page_size: 20, total: 6 });
      const created = res.body.tasks.map((task: { created_at: string }) => task.created_at);
      expect([...created].sort().reverse()).toEqual(created);
    });

    it('filters by task_type, priority and status', async () => {
      const byType = await request(t.http)
        .get('/api/v1/tasks')
        .query({ kb_id: kb, task_type: 'vector_storage' })
        .expect(200);
      expect(byType.body.pagination.total).toBe(1);
      const byPriority = await request(t.http).get('/api/v1/tasks').query({ kb_id: kb, priority: 'high' }).expect(200);
      expect(byPriority.body.pagination.total).toBe(2);
      expect(byPriority.body.tasks.every((task: { priority: string }) => task.priority === 'high')).toBe(true);
      const byStatus = await request(t.http)
        .get('/api/v1/tasks')
        .query({ kb_id: kb, status: 'queued', task_type: 'vector_storage' })
        .expect(200);
      expect(byStatus.body.tasks[0]).toMatchObject({ status: 'queued', queue_position: null });
    });

    it('sorts by priority in both directions', async () => {
      const asc = await request(t.http)
        .get('/api/v1/tasks')
        .query({ kb_id: kb, task_type: 'health_check', sort_by: 'priority', sort_order: 'asc' })
        .expect(200);
      expect(asc.body.tasks.map((task: { priority: string }) => task.priority)).toEqual([
        'low',
        'normal',
        'high',
        'high',
        'critical',
      ]);
      const desc = await request(t.http)
        .get('/api/v1/tasks')
        .query({ kb_id: kb, task_type: 'health_check', sort_by: 'priority', sort_order: 'desc' })
        .expect(200);
      expect(desc.body.tasks[0].priority).toBe('critical');
    });

    it.each([
      [{ page: 0 }, 'page'],
      [{ page: -1 }, 'page'],
      [{ page: 'abc' }, 'page'],
      [{ page_size: 0 }, 'page_size'],
      [{ page_size: 101 }, 'page_size'],
      [{ page_size: 1.5 }, 'page_size'],
      [{ status: 'sleeping' }, 'status'],
      [{ task_type: 'nope' }, 'task_type'],
      [{ priority: 'urgent' }, 'priority'],
      [{ sort_by: 'payload' }, 'sort_by'],
      [{ sort_order: 'sideways' }, 'sort_order'],
      [{ unknown: 1 }, 'unknown'],
    ])('refuses query %j with 400 naming %s', async (query, field) => {
      const res = await request(t.http).get('/api/v1/tasks').query(query).expect(400);
      expectError(res.body, 'INVALID_REQUEST');
      expect(Object.keys(res.body.details.fields)).toContain(field);
    });

    it('returns an empty page past the end', async () => {
      const res = await request(t.http).get('/api/v1/tasks').query({ kb_id: kb, page: 99 }).expect(200);
      expect(res.body.tasks).toEqual([]);
      expect(res.body.pagination.total).toBe(6);
    });
  });

  describe('PUT /api/v1/tasks/{task_id}/progress', () => {
    it('updates a processing task, never lowers its progress, and refuses a finished one', async () => {
      const kb = uniqueKb('progress');
      const created = await request(t.http)
        .post('/api/v1/tasks')
        .send(taskRequest({ kb_id: kb, payload: { samples: 200, interval_ms: 100 } }))
        .expect(201);
      const id = created.body.id as string;
      await waitFor(
        () => t.prisma.task.findUnique({ where: { id } }),
        (task) => task?.status === 'processing',
        { what: 'processing' },
      );
      const res = await request(t.http)
        .put(`/api/v1/tasks/${id}/progress`)
        .send({ progress: 75, message: 'Processing embeddings...' })
        .expect(200);
      expect(res.body).toMatchObject({
        id,
        progress: 75,
        progress_message: 'Processing embeddings...',
        status: 'processing',
      });
      // A lower report is a late one: the task keeps its progress and message, and says so by returning them.
      const late = await request(t.http)
        .put(`/api/v1/tasks/${id}/progress`)
        .send({ progress: 40, message: 'late' })
        .expect(200);
      expect(late.body).toMatchObject({
        id,
        progress: 75,
        progress_message: 'Processing embeddings...',
        status: 'processing',
      });
      const same = await request(t.http)
        .put(`/api/v1/tasks/${id}/progress`)
        .send({ progress: 75, message: 'Still embedding' })
        .expect(200);
      expect(same.body).toMatchObject({ progress: 75, progress_message: 'Still embedding' });

      await request(t.http).delete(`/api/v1/tasks/${id}`).expect(200);
      const conflict = await request(t.http).put(`/api/v1/tasks/${id}/progress`).send({ progress: 80 }).expect(409);
      expectError(conflict.body, 'TASK_NOT_PROCESSING');
      expect(conflict.body.details.status).toBe('cancelled');
    });

    it.each([[{ progress: -1 }], [{ progress: 101 }], [{ progress: '50' }], [{}], [{ progress: 50, message: 7 }]])(
      'refuses %j with 400',
      async (body) => {
        const res = await request(t.http).put(`/api/v1/tasks/${UNKNOWN_ID}/progress`).send(body).expect(400);
        expectError(res.body, 'INVALID_REQUEST');
      },
    );

    it('answers 404 for an unknown task', async () => {
      const res = await request(t.http).put(`/api/v1/tasks/${UNKNOWN_ID}/progress`).send({ progress: 10 }).expect(404);
      expectError(res.body, 'TASK_NOT_FOUND');
    });
  });

  describe('errors outside the task routes', () => {
    it('answers unknown routes with JSON 404', async () => {
      const res = await request(t.http).get('/api/v1/nothing-here').expect(404);
      expectError(res.body, 'NOT_FOUND');
    });

    it('answers 404 for cancel and retry of unknown ids', async () => {
      expectError((await request(t.http).delete(`/api/v1/tasks/${UNKNOWN_ID}`).expect(404)).body, 'TASK_NOT_FOUND');
      expectError((await request(t.http).post('/api/v1/tasks/not-a-uuid/retry').expect(404)).body, 'TASK_NOT_FOUND');
    });
  });
});
