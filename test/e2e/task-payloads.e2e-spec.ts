import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createTestApp, KbTracker, TestApp, waitFor } from '../setup/test-app';

/** Keys no processor reads, of every JSON kind, nested: all of them must come back exactly as sent. */
const CALLER_KEYS = {
  source: 'upload-svc',
  trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
  notes: { reviewed_by: ['ana', 'li'], depth: { level: 2, flags: [true, false, null] }, empty: {} },
  weight: 0.125,
  tags: [],
  'ключ ✓': 'значение',
};

describe("Task payloads: the caller's keys, one-pass validation (e2e)", () => {
  let t: TestApp;
  let uploads: string;
  const kbs = new KbTracker();

  beforeAll(async () => {
    uploads = mkdtempSync(join(tmpdir(), 'tm-payloads-'));
    writeFileSync(join(uploads, 'note.txt'), 'A short note about payloads that keep what the caller sent.');
    t = await createTestApp({ UPLOAD_DIR: uploads });
  });

  afterAll(async () => {
    await t.prisma.task.deleteMany({ where: { kbId: { in: kbs.ids } } });
    await t.close();
    rmSync(uploads, { recursive: true, force: true });
  });

  const create = (body: unknown) =>
    request(t.http)
      .post('/api/v1/tasks')
      .send(body as object);
  const batch = (body: unknown[]) => request(t.http).post('/api/v1/tasks/batch').send(body);
  const settled = (id: string) =>
    waitFor(
      async () => (await request(t.http).get(`/api/v1/tasks/${id}`)).body,
      (task) => ['completed', 'failed', 'cancelled'].includes(task.status),
      { timeoutMs: 30000, what: `task ${id} to settle` },
    );
  const fieldsOf = (res: request.Response) => Object.keys(res.body.details.fields).sort();

  describe("keys the service does not read are the caller's data", () => {
    it('stores the example of the issue and runs it', async () => {
      const kb = kbs.kb('source');
      const res = await create({ task_type: 'health_check', kb_id: kb, payload: { source: 'upload-svc' } }).expect(201);
      expect(res.body.payload).toEqual({ source: 'upload-svc' });
      const task = await settled(res.body.id);
      expect(task).toMatchObject({ status: 'completed', payload: { source: 'upload-svc' } });
    });

    it.each([
      ['health_check', { checks: ['database'], samples: 1 }],
      ['document_processing', { file_path: 'note.txt', chunk_size: 200, chunk_overlap: 20, metadata: { lang: 'en' } }],
      ['knowledge_indexing', {}],
      ['vector_storage', { vectors: [{ id: 'a', values: [1, 0], client_ref: { row: 7 } }] }],
      ['embedding_generation', { texts: ['hello payload'] }],
      ['batch_processing', { items: [{ task_type: 'health_check', payload: { ...CALLER_KEYS } }] }],
    ])(
      '%s: unknown keys, nested ones included, are stored and returned exactly as sent, and the task runs',
      async (taskType, known) => {
        const kb = kbs.kb('echo');
        const payload = { ...known, ...CALLER_KEYS };
        const res = await create({ task_type: taskType, kb_id: kb, payload }).expect(201);
        expect(res.body.payload).toStrictEqual(payload);
        const task = await settled(res.body.id);
        expect({ status: task.status, error: task.error_message }).toEqual({ status: 'completed', error: '' });
        expect(task.payload).toStrictEqual(payload);
        const stored = await t.prisma.task.findUniqueOrThrow({ where: { id: res.body.id } });
        expect(stored.payload).toStrictEqual(payload);
      },
    );

    it("keeps a batch_processing child's payload as sent", async () => {
      const kb = kbs.kb('childecho');
      const childPayload = { checks: ['database'], ...CALLER_KEYS };
      const res = await create({
        task_type: 'batch_processing',
        kb_id: kb,
        payload: { items: [{ task_type: 'health_check', payload: childPayload }] },
      }).expect(201);
      expect((await settled(res.body.id)).status).toBe('completed');
      const [child] = await t.prisma.task.findMany({ where: { parentId: res.body.id } });
      expect(child.payload).toStrictEqual(childPayload);
      expect((await request(t.http).get(`/api/v1/tasks/${child.id}`).expect(200)).body.payload).toStrictEqual(
        childPayload,
      );
    });

    it('accepts unknown payload keys in every item of POST /tasks/batch', async () => {
      const kb = kbs.kb('batchecho');
      const res = await batch([
        { task_type: 'health_check', kb_id: kb, payload: { source: 'a' } },
        { task_type: 'health_check', kb_id: kb, payload: { samples: 1, ...CALLER_KEYS } },
      ]).expect(201);
      expect(res.body.tasks.map((task: { payload: unknown }) => task.payload)).toStrictEqual([
        { source: 'a' },
        { samples: 1, ...CALLER_KEYS },
      ]);
    });

    it('still validates the keys a processor reads, naming the field', async () => {
      const kb = kbs.kb('known');
      const res = await create({
        task_type: 'health_check',
        kb_id: kb,
        payload: { source: 'x', samples: 0, interval_ms: 'soon' },
      }).expect(400);
      expect(fieldsOf(res)).toEqual(['payload.interval_ms', 'payload.samples']);
      const outside = await create({
        task_type: 'document_processing',
        kb_id: kb,
        payload: { file_path: '../etc/passwd', trace: 1 },
      }).expect(400);
      expect(fieldsOf(outside)).toEqual(['payload.file_path']);
    });

    it('refuses more vector numbers than the body limit can carry, naming payload.vectors, and stores nothing', async () => {
      const kb = kbs.kb('toomany');
      const vectors = Array.from({ length: 123 }, () => new Array<number>(8192).fill(0.5)); // 1,007,616 numbers
      const res = await create({ task_type: 'vector_storage', kb_id: kb, payload: { vectors } }).expect(400);
      expect(fieldsOf(res)).toEqual(['payload.vectors']);
      expect(res.body.details.fields['payload.vectors'][0]).toMatch(/at most 1000000 numbers per task/);
      expect(await t.prisma.task.count({ where: { kbId: kb } })).toBe(0);
      const fits = await create({
        task_type: 'vector_storage',
        kb_id: kb,
        payload: { vectors: vectors.slice(0, 122) },
      }).expect(201);
      await request(t.http).delete(`/api/v1/tasks/${fits.body.id}`);
    });

    it('reports a value of the wrong type as such, not as a size or length problem', async () => {
      const kb = kbs.kb('types');
      const texts = await create({ task_type: 'embedding_generation', kb_id: kb, payload: { texts: ['a', 7] } }).expect(
        400,
      );
      expect(texts.body.details.fields).toEqual({ 'payload.texts': ['each of texts must be a string'] });
      const vectors = await create({ task_type: 'vector_storage', kb_id: kb, payload: { vectors: 'x' } }).expect(400);
      expect(vectors.body.details.fields).toEqual({ 'payload.vectors': ['vectors must be an array'] });
      const path = await create({ task_type: 'document_processing', kb_id: kb, payload: { file_path: 7 } }).expect(400);
      expect(path.body.details.fields).toEqual({ 'payload.file_path': ['file_path must be a string'] });
    });

    it("keeps the request's own fields and a batch item's fields strict", async () => {
      const kb = kbs.kb('strict');
      const top = await create({ task_type: 'health_check', kb_id: kb, payload: {}, colour: 'blue' }).expect(400);
      expect(fieldsOf(top)).toEqual(['colour']);
      const item = await create({
        task_type: 'batch_processing',
        kb_id: kb,
        payload: {
          items: [{ task_type: 'health_check', payload: {}, priorty: 'high', callback_url: 'https://example.com/x' }],
        },
      }).expect(400);
      expect(fieldsOf(item)).toEqual(['payload.items[0].callback_url', 'payload.items[0].priorty']);
    });

    it('documents a batch item with exactly the fields it accepts (no callback fields: they belong to the batch)', async () => {
      const schemas = (await request(t.http).get('/docs-json').expect(200)).body.components.schemas;
      const children = Object.keys(schemas).filter((name) => /^Batch\w+ChildRequest$/.test(name));
      expect(children).toHaveLength(5);
      for (const name of children) {
        expect({
          name,
          fields: Object.keys(schemas[name].properties).sort(),
          closed: schemas[name].additionalProperties,
        }).toEqual({
          name,
          fields: ['kb_id', 'max_retries', 'payload', 'priority', 'schedule_for', 'task_type', 'timeout'],
          closed: false,
        });
        expect(schemas[name].required).toEqual(expect.not.arrayContaining(['kb_id']));
      }
    });
  });

  describe('one answer lists every bad field', () => {
    it('reports a bad request field and a bad payload field together', async () => {
      const res = await create({
        task_type: 'health_check',
        kb_id: kbs.kb('both'),
        priority: 'urgent',
        payload: { samples: 5000 },
      }).expect(400);
      expect(res.body.code).toBe('INVALID_REQUEST');
      expect(fieldsOf(res)).toEqual(['payload.samples', 'priority']);
      expect(res.body.message).toBe('Invalid fields: priority, payload.samples');
    });

    it('reports every request field, payload field (shape and file confinement) and callback URL at once', async () => {
      const res = await create({
        task_type: 'document_processing',
        kb_id: 'bad kb id',
        priority: 'urgent',
        timeout: 0,
        callback_url: 'ftp://example.com',
        payload: { file_path: '/etc/passwd', chunk_size: 10 },
      }).expect(400);
      expect(fieldsOf(res)).toEqual([
        'callback_url',
        'kb_id',
        'payload.chunk_size',
        'payload.file_path',
        'priority',
        'timeout',
      ]);
    });

    it('reports a store that is not a boolean alone, without the rules that depend on it (kb dimension, ids)', async () => {
      const kb = kbs.kb('store');
      const vectors = await create({ task_type: 'vector_storage', kb_id: kb, payload: { vectors: [[1, 2]] } }).expect(
        201,
      );
      expect((await settled(vectors.body.id)).status).toBe('completed');
      const res = await create({
        task_type: 'embedding_generation',
        kb_id: kb,
        payload: { texts: ['a'], store: 'yes', ids: ['x', 'y'] },
      }).expect(400);
      expect(res.body.details.fields).toEqual({ 'payload.store': ['store must be a boolean value'] });
    });

    it('reports cross-field payload rules next to the fields that are wrong on their own', async () => {
      const res = await create({
        task_type: 'document_processing',
        kb_id: kbs.kb('cross'),
        max_retries: -1,
        payload: { file_path: 'note.txt', chunk_size: 100, chunk_overlap: 100, document_id: 'nope' },
      }).expect(400);
      expect(fieldsOf(res)).toEqual(['max_retries', 'payload.chunk_overlap', 'payload.document_id']);
    });

    it("lists every item's paths of POST /tasks/batch, request and payload fields alike, and stores nothing", async () => {
      const kb = kbs.kb('batchpaths');
      const ok = { task_type: 'health_check', kb_id: kb, payload: {} };
      const res = await batch([
        { ...ok, priority: 'urgent' },
        { ...ok, payload: { samples: -1 } },
        ok,
        { task_type: 'document_processing', kb_id: kb, timeout: 'long', payload: { file_path: '/etc/passwd' } },
        'not a task',
      ]).expect(400);
      expect(fieldsOf(res)).toEqual([
        '[0].priority',
        '[1].payload.samples',
        '[3].payload.file_path',
        '[3].timeout',
        '[4]',
      ]);
      expect(await t.prisma.task.count({ where: { kbId: kb } })).toBe(0);
    });

    it("checks batch_processing items even when the batch's own kb_id is bad", async () => {
      const res = await create({
        task_type: 'batch_processing',
        kb_id: '',
        payload: { items: [{ task_type: 'health_check', payload: { samples: 0 } }] },
      }).expect(400);
      expect(fieldsOf(res)).toEqual(['kb_id', 'payload.items[0].payload.samples']);
    });

    it('lists the paths of every bad batch_processing item, its fields and its payload', async () => {
      const res = await create({
        task_type: 'batch_processing',
        kb_id: kbs.kb('items'),
        payload: {
          items: [
            { task_type: 'health_check', payload: {} },
            { task_type: 'health_check', priority: 'urgent', payload: { samples: 0 } },
            { task_type: 'document_processing', kb_id: 'another_kb', payload: { file_path: '../x.txt' } },
            { task_type: 'batch_processing', payload: { file_paths: ['note.txt'] } },
          ],
        },
      }).expect(400);
      expect(fieldsOf(res)).toEqual([
        'payload.items[1].payload.samples',
        'payload.items[1].priority',
        'payload.items[2].kb_id',
        'payload.items[2].payload.file_path',
        'payload.items[3].task_type',
      ]);
    });
  });
});
