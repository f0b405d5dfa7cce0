import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { HashingEmbedder } from '../../src/pipeline/embedding/hashing-embedder';
import { createTestApp, TestApp, uniqueKb, waitForSettled } from '../setup/test-app';

const FIXTURES = join(__dirname, '..', 'fixtures');
/** The embedder the test app runs with (the default: local hashing, 384 dimensions), to compute the expected vectors. */
const embedder = new HashingEmbedder({ dimension: 384 });
/** PostgreSQL's real[] keeps float32 precision: compare vectors at that precision. */
const f32 = (values: number[]) => Float32Array.from(values);

// The task types that take their input inline (texts, vectors, documents of a kb, batch
// items) rather than from one uploaded file; split from knowledge-base.e2e-spec.ts.
describe('Knowledge-base task types with inline input (e2e)', () => {
  let t: TestApp;
  let uploads: string;

  beforeAll(async () => {
    uploads = mkdtempSync(join(tmpdir(), 'tm-uploads-'));
    cpSync(FIXTURES, uploads, { recursive: true });
    t = await createTestApp({ UPLOAD_DIR: uploads });
  });

  afterAll(async () => {
    await t.close();
    rmSync(uploads, { recursive: true, force: true });
  });

  const create = (body: Record<string, unknown>) => request(t.http).post('/api/v1/tasks').send(body);
  const settled = (id: string, timeoutMs?: number) => waitForSettled(t.http, id, timeoutMs);

  describe('embedding_generation over texts given inline', () => {
    const texts = [
      'What is a vector database?',
      'Vectors are stored with their ids.',
      'Café crème ☕ is not an embedding.',
    ];

    it('returns the vectors of the configured embedder, in order', async () => {
      const kb = uniqueKb('texts');
      const res = await create({
        task_type: 'embedding_generation',
        kb_id: kb,
        payload: { texts, batch_size: 2 },
      }).expect(201);
      const task = await settled(res.body.id);
      expect(task.status).toBe('completed');
      expect(task.result).toEqual({
        model: embedder.model,
        dimension: 384,
        embedded: 3,
        vectors: await embedder.embed(texts),
        stored: null,
      });
      expect(await t.prisma.vector.count({ where: { kbId: kb } })).toBe(0);
    });

    it('with store: true, upserts them into the kb under the given ids and says where they are', async () => {
      const kb = uniqueKb('textstore');
      const payload = {
        texts,
        store: true,
        ids: ['q1', 'q2', 'q3'],
        metadatas: [{ lang: 'en' }, { lang: 'en' }, { lang: 'fr', text: 'own text' }],
      };
      const task = await settled(
        (await create({ task_type: 'embedding_generation', kb_id: kb, payload }).expect(201)).body.id,
      );
      expect(task.status).toBe('completed');
      expect(task.result).toEqual({
        model: embedder.model,
        dimension: 384,
        embedded: 3,
        vectors: null,
        stored: { kb_id: kb, backend: expect.any(String), ids: ['q1', 'q2', 'q3'] },
      });
      const rows = await t.prisma.vector.findMany({ where: { kbId: kb }, orderBy: { id: 'asc' } });
      const expected = await embedder.embed(texts);
      expect(rows.map((r) => [r.id, r.model, r.metadata])).toEqual([
        ['q1', embedder.model, { text: texts[0], lang: 'en' }],
        ['q2', embedder.model, { text: texts[1], lang: 'en' }],
        ['q3', embedder.model, { text: 'own text', lang: 'fr' }],
      ]);
      rows.forEach((r, i) => {
        expect(f32(r.values)).toEqual(f32(expected[i]));
      });
      // The kb is searchable with them: the query embeds to the stored vector of its text.
      const hits = (
        await request(t.http)
          .get(`/api/v1/kbs/${kb}/search`)
          .query({ q: texts[1], mode: 'vector', limit: 1 })
          .expect(200)
      ).body.results;
      expect(hits[0].score).toBeCloseTo(1, 5);
    });

    it('without ids, stores each text under a hash of model and text, so embedding it again updates it', async () => {
      const kb = uniqueKb('texthash');
      for (let run = 0; run < 2; run++) {
        expect(
          (
            await settled(
              (
                await create({
                  task_type: 'embedding_generation',
                  kb_id: kb,
                  payload: { texts: texts.slice(0, 2), store: true },
                }).expect(201)
              ).body.id,
            )
          ).status,
        ).toBe('completed');
      }
      expect(await t.prisma.vector.count({ where: { kbId: kb } })).toBe(2);
    });

    it.each([
      ['no texts', { texts: [] }, ['payload.texts']],
      ['a text that is not a string', { texts: ['a', 7] }, ['payload.texts']],
      ['an empty text', { texts: [''] }, ['payload.texts']],
      ['a text over the length limit', { texts: ['x'.repeat(32_001)] }, ['payload.texts']],
      ['more texts than the limit', { texts: Array.from({ length: 1001 }, () => 'x'), store: true }, ['payload.texts']],
      [
        'more vectors than a result may hold',
        { texts: Array.from({ length: 342 }, (_, i) => `text ${i}`) },
        ['payload.texts'],
      ],
      ['texts and document_id', { texts: ['a'], document_id: '00000000-0000-4000-8000-000000000000' }, ['payload']],
      ['ids without store', { texts: ['a'], ids: ['x'] }, ['payload.ids']],
      ['ids of another length', { texts: ['a', 'b'], store: true, ids: ['x'] }, ['payload.ids']],
      ['a repeated id', { texts: ['a', 'b'], store: true, ids: ['x', 'x'] }, ['payload.ids[1]']],
      ['metadatas that are not objects', { texts: ['a'], store: true, metadatas: ['m'] }, ['payload.metadatas']],
      ['store without texts', { document_id: '00000000-0000-4000-8000-000000000000', store: true }, ['payload.store']],
    ])('refuses %s, naming the field', async (_name, payload, fields) => {
      const res = await create({ task_type: 'embedding_generation', kb_id: uniqueKb('badtexts'), payload }).expect(400);
      expect(Object.keys(res.body.details.fields).sort()).toEqual(fields);
    });

    it('refuses to store texts in a kb of another dimension', async () => {
      const kb = uniqueKb('textdim');
      expect(
        (
          await settled(
            (await create({ task_type: 'vector_storage', kb_id: kb, payload: { vectors: [[1, 0, 0]] } }).expect(201))
              .body.id,
          )
        ).status,
      ).toBe('completed');
      const res = await create({
        task_type: 'embedding_generation',
        kb_id: kb,
        payload: { texts: ['a'], store: true },
      }).expect(400);
      expect(res.body.details.fields['payload.texts'][0]).toMatch(/stores 3-dimensional vectors; got 384/);
    });
  });

  describe('vector_storage with vectors as number arrays', () => {
    it('stores them with the parallel ids and metadatas', async () => {
      const kb = uniqueKb('arrays');
      const payload = {
        vectors: [
          [1, 0, 0],
          [0, 1, 0],
          [0, 0.6, 0.8],
        ],
        ids: ['a', 'b', 'c'],
        metadatas: [{ n: 1 }, { n: 2 }, { n: 3, nested: { ok: true } }],
        model: 'external-3d',
      };
      const task = await settled(
        (await create({ task_type: 'vector_storage', kb_id: kb, payload }).expect(201)).body.id,
      );
      expect(task.status).toBe('completed');
      expect(task.result).toMatchObject({ stored: 3, dimension: 3, model: 'external-3d' });
      const rows = await t.prisma.vector.findMany({ where: { kbId: kb }, orderBy: { id: 'asc' } });
      expect(rows.map((r) => [r.id, f32(r.values), r.metadata, r.model])).toEqual([
        ['a', f32([1, 0, 0]), { n: 1 }, 'external-3d'],
        ['b', f32([0, 1, 0]), { n: 2 }, 'external-3d'],
        ['c', f32([0, 0.6, 0.8]), { n: 3, nested: { ok: true } }, 'external-3d'],
      ]);
    });

    it('without ids, stores each under a hash of its values', async () => {
      const kb = uniqueKb('arrayhash');
      const task = await settled(
        (
          await create({
            task_type: 'vector_storage',
            kb_id: kb,
            payload: {
              vectors: [
                [1, 2],
                [3, 4],
              ],
            },
          }).expect(201)
        ).body.id,
      );
      expect(task.result).toMatchObject({ stored: 2, dimension: 2 });
      expect((await t.prisma.vector.findMany({ where: { kbId: kb } })).map((r) => r.id)).toEqual(
        expect.arrayContaining([expect.stringMatching(/^[0-9a-f]{32}$/)]),
      );
    });

    it.each([
      [
        'ids of another length',
        {
          vectors: [
            [1, 0],
            [0, 1],
          ],
          ids: ['a'],
        },
        ['payload.ids'],
      ],
      ['metadatas of another length', { vectors: [[1, 0]], metadatas: [{}, {}] }, ['payload.metadatas']],
      [
        'a repeated id',
        {
          vectors: [
            [1, 0],
            [0, 1],
          ],
          ids: ['a', 'a'],
        },
        ['payload.ids[1]'],
      ],
      [
        'vectors of different dimensions',
        {
          vectors: [
            [1, 0],
            [0, 1, 0],
          ],
        },
        ['payload.vectors[1]'],
      ],
      ['a value that is not a number', { vectors: [[1, 'x']] }, ['payload.vectors[0]']],
      ['an empty vector', { vectors: [[1], []] }, ['payload.vectors[1]']],
      ['arrays and objects mixed', { vectors: [[1, 0], { values: [0, 1] }] }, ['payload.vectors[1]']],
      ['ids with vector objects', { vectors: [{ values: [1, 0] }], ids: ['a'] }, ['payload.ids']],
      [
        'a repeated id among vector objects',
        {
          vectors: [
            { id: 'a', values: [1, 0] },
            { id: 'a', values: [0, 1] },
          ],
        },
        ['payload.vectors[1].id'],
      ],
      ['a vector that is neither', { vectors: [[1, 0], 5] }, ['payload.vectors[1]']],
    ])('refuses %s, naming the field', async (_name, payload, fields) => {
      const res = await create({ task_type: 'vector_storage', kb_id: uniqueKb('badarrays'), payload }).expect(400);
      expect(Object.keys(res.body.details.fields).sort()).toEqual(fields);
    });
  });

  describe('knowledge_indexing of several documents', () => {
    it('indexes the documents given in document_ids, and only them', async () => {
      const kb = uniqueKb('docids');
      const ids: string[] = [];
      for (const file of ['sample.txt', 'sample.md', 'sample.html']) {
        ids.push(
          (
            await settled(
              (await create({ task_type: 'document_processing', kb_id: kb, payload: { file_path: file } }).expect(201))
                .body.id,
            )
          ).result.document_id,
        );
      }
      const task = await settled(
        (
          await create({
            task_type: 'knowledge_indexing',
            kb_id: kb,
            payload: { document_ids: ids.slice(0, 2) },
          }).expect(201)
        ).body.id,
      );
      expect(task.status).toBe('completed');
      expect(task.result).toMatchObject({ documents: 2, document_ids: ids.slice(0, 2), document_id: null });
      const documents = await t.prisma.document.findMany({ where: { kbId: kb } });
      expect(
        documents
          .filter((d) => d.indexedAt !== null)
          .map((d) => d.id)
          .sort(),
      ).toEqual(ids.slice(0, 2).sort());
      const one = await settled(
        (await create({ task_type: 'knowledge_indexing', kb_id: kb, payload: { document_id: ids[2] } }).expect(201))
          .body.id,
      );
      expect(one.result).toMatchObject({ documents: 1, document_id: ids[2], document_ids: null });
    });

    it('fails at once naming documents that are not in the kb, and refuses both fields or bad ids', async () => {
      const kb = uniqueKb('docidsbad');
      const missing = '00000000-0000-4000-8000-00000000abcd';
      const task = await settled(
        (
          await create({
            task_type: 'knowledge_indexing',
            kb_id: kb,
            max_retries: 2,
            payload: { document_ids: [missing] },
          }).expect(201)
        ).body.id,
      );
      expect(task).toMatchObject({
        status: 'failed',
        retry_count: 0,
        error_message: `Document ${missing} not found in knowledge base ${kb}`,
      });
      const both = await create({
        task_type: 'knowledge_indexing',
        kb_id: kb,
        payload: { document_id: missing, document_ids: [missing] },
      }).expect(400);
      expect(Object.keys(both.body.details.fields)).toEqual(['payload']);
      const bad = await create({
        task_type: 'knowledge_indexing',
        kb_id: kb,
        payload: { document_ids: ['nope'] },
      }).expect(400);
      expect(Object.keys(bad.body.details.fields)).toEqual(['payload.document_ids']);
      const empty = await create({ task_type: 'knowledge_indexing', kb_id: kb, payload: { document_ids: [] } }).expect(
        400,
      );
      expect(Object.keys(empty.body.details.fields)).toEqual(['payload.document_ids']);
    });
  });

  describe('batch_processing items are task requests', () => {
    it("runs items of every kind with their own priority, retries and timeout, in the batch's kb", async () => {
      const kb = uniqueKb('typeditems');
      const res = await create({
        task_type: 'batch_processing',
        kb_id: kb,
        payload: {
          items: [
            {
              task_type: 'vector_storage',
              kb_id: kb,
              priority: 'critical',
              max_retries: 0,
              timeout: 60,
              payload: { vectors: [[1, 0]], ids: ['v'] },
            },
            { task_type: 'embedding_generation', payload: { texts: ['inline in a batch'] } },
          ],
        },
      }).expect(201);
      const parent = await settled(res.body.id);
      expect(parent.result).toMatchObject({ total: 2, completed: 2 });
      const children = await t.prisma.task.findMany({ where: { parentId: parent.id }, orderBy: { taskType: 'asc' } });
      expect(children.map((c) => [c.taskType, c.kbId, c.priority])).toEqual([
        ['embedding_generation', kb, 'normal'],
        ['vector_storage', kb, 'critical'],
      ]);
      expect(children[1]).toMatchObject({ maxRetries: 0, timeoutSeconds: 60 });
    });
  });
});
