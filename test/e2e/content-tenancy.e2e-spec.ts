import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { makeKey } from '../setup/auth-helpers';
import { createTestApp, TestApp, uniqueKb, waitFor } from '../setup/test-app';

/**
 * Keys limited to one kb each, so UPLOAD_NAMESPACE=auto puts each kb's uploads in
 * UPLOAD_DIR/<kb_id>/. kb_a's credential and tasks try every way to reach kb_b's files,
 * documents, chunks and vectors; each is refused and kb_b's content stays as it was.
 */
describe("Content tenancy: one kb never reaches another kb's content (e2e)", () => {
  let t: TestApp;
  let uploads: string;
  const kbA = uniqueKb('content_a');
  const kbB = uniqueKb('content_b');
  const keyA = makeKey('content-a', 'write', [kbA]);
  const keyB = makeKey('content-b', 'write', [kbB]);
  const B_PHRASE = 'zebra quartz marmalade';
  let docB: string;
  let chunkB: { id: string; content: string };
  let snapshotB: unknown;

  const as = (key: { key: string }) => ({ 'X-API-Key': key.key });
  const create = (key: { key: string }, body: Record<string, unknown>) =>
    request(t.http).post('/api/v1/tasks').set(as(key)).send(body);
  const settled = (key: { key: string }, id: string) =>
    waitFor(
      async () => (await request(t.http).get(`/api/v1/tasks/${id}`).set(as(key))).body,
      (task) => ['completed', 'failed', 'cancelled'].includes(task.status),
      { timeoutMs: 60000, what: `task ${id} to settle` },
    );
  /** Runs a kb_a task to its end and returns it. */
  const runAsA = async (task_type: string, payload: Record<string, unknown>) => {
    const res = await create(keyA, { task_type, kb_id: kbA, max_retries: 0, payload }).expect(201);
    return settled(keyA, res.body.id);
  };
  /** Everything kb_b holds, as rows, so "unchanged" is checked down to the values. */
  const contentOfB = async () => ({
    documents: await t.prisma.document.findMany({ where: { kbId: kbB }, orderBy: { id: 'asc' } }),
    chunks: await t.prisma.chunk.findMany({
      where: { kbId: kbB },
      orderBy: { id: 'asc' },
      select: { id: true, content: true, generation: true },
    }),
    embeddings: await t.prisma.embedding.findMany({ where: { chunk: { kbId: kbB } }, orderBy: { chunkId: 'asc' } }),
    vectors: await t.prisma.vector.findMany({ where: { kbId: kbB }, orderBy: { id: 'asc' } }),
    vectorsNamingBElsewhere: await t.prisma.vector.count({ where: { kbId: { not: kbB }, documentId: docB } }),
  });

  beforeAll(async () => {
    uploads = mkdtempSync(join(tmpdir(), 'tm-tenancy-'));
    mkdirSync(join(uploads, kbA));
    mkdirSync(join(uploads, kbB));
    writeFileSync(join(uploads, kbA, 'a.txt'), 'Harbour lanterns and granite meadows. '.repeat(20));
    writeFileSync(join(uploads, kbB, 'b.txt'), `Confidential: ${B_PHRASE}. `.repeat(20));
    t = await createTestApp({ UPLOAD_DIR: uploads, API_KEYS: JSON.stringify([keyA.entry, keyB.entry]) });

    for (const [key, kb, file] of [
      [keyA, kbA, 'a.txt'],
      [keyB, kbB, 'b.txt'],
    ] as const) {
      const res = await create(key, {
        task_type: 'document_processing',
        kb_id: kb,
        payload: { file_path: file, chunk_size: 200, chunk_overlap: 20, pipeline: true },
      }).expect(201);
      const task = await settled(key, res.body.id);
      expect({ kb, status: task.status, error: task.error_message }).toEqual({ kb, status: 'completed', error: '' });
      if (kb === kbB) docB = task.result.document_id;
    }
    const detail = (await request(t.http).get(`/api/v1/kbs/${kbB}/documents/${docB}`).set(as(keyB)).expect(200)).body;
    chunkB = detail.chunks[0];
    snapshotB = await contentOfB();
  }, 120000);

  afterAll(async () => {
    await t.close();
    rmSync(uploads, { recursive: true, force: true });
  });

  afterEach(async () => {
    expect(await contentOfB()).toEqual(snapshotB);
  });

  describe('routes', () => {
    it.each([
      ['the documents of kb_b', () => `/api/v1/kbs/${kbB}/documents`],
      ['a document of kb_b', () => `/api/v1/kbs/${kbB}/documents/${docB}`],
      ['a search of kb_b', () => `/api/v1/kbs/${kbB}/search?q=zebra`],
    ])('refuses %s with 404, as if kb_b did not exist', async (_label, path) => {
      const res = await request(t.http).get(path()).set(as(keyA)).expect(404);
      expect(res.body).toMatchObject({ code: 'NOT_FOUND', message: 'Knowledge base not found' });
    });

    it("answers 404 for kb_b's document asked under kb_a, like an unknown id", async () => {
      const res = await request(t.http).get(`/api/v1/kbs/${kbA}/documents/${docB}`).set(as(keyA)).expect(404);
      expect(res.body.code).toBe('NOT_FOUND');
    });

    it("never returns kb_b's text from kb_a's searches", async () => {
      for (const mode of ['fulltext', 'vector', 'hybrid']) {
        const res = await request(t.http)
          .get(`/api/v1/kbs/${kbA}/search`)
          .query({ q: B_PHRASE, mode })
          .set(as(keyA))
          .expect(200);
        expect(JSON.stringify(res.body.results)).not.toContain('zebra');
      }
    });
  });

  describe('upload namespaces (UPLOAD_NAMESPACE=auto with kb-limited keys: per kb)', () => {
    it.each([
      ['a relative escape into kb_b', () => `../${kbB}/b.txt`],
      ['an absolute path into kb_b', () => join(uploads, kbB, 'b.txt')],
      ['the shared root above the namespaces', () => join(uploads, 'b.txt')],
    ])('refuses %s with 400 naming payload.file_path', async (_label, path) => {
      const res = await create(keyA, {
        task_type: 'document_processing',
        kb_id: kbA,
        payload: { file_path: path() },
      }).expect(400);
      expect(Object.keys(res.body.details.fields)).toEqual(['payload.file_path']);
    });

    it('refuses a batch whose file_paths reach into kb_b', async () => {
      const res = await create(keyA, {
        task_type: 'batch_processing',
        kb_id: kbA,
        payload: { file_paths: ['a.txt', `../${kbB}/b.txt`] },
      }).expect(400);
      expect(Object.keys(res.body.details.fields)).toEqual(['payload.file_paths[1]']);
    });

    it("reads a bare file name in kb_a's own folder, so kb_b's file is not found", async () => {
      const task = await runAsA('document_processing', { file_path: 'b.txt' });
      expect(task).toMatchObject({ status: 'failed', error_message: 'File not found: b.txt' });
    });
  });

  describe('task types', () => {
    it("document_processing cannot take over kb_b's document id", async () => {
      const task = await runAsA('document_processing', { file_path: 'a.txt', document_id: docB });
      expect(task).toMatchObject({
        status: 'failed',
        error_message: `Document ${docB} belongs to another knowledge base`,
      });
    });

    it("embedding_generation cannot embed kb_b's document or chunks", async () => {
      const byDocument = await runAsA('embedding_generation', { document_id: docB });
      expect(byDocument).toMatchObject({
        status: 'failed',
        error_message: `Document ${docB} not found in knowledge base ${kbA}`,
      });
      const byChunks = await runAsA('embedding_generation', { chunk_ids: [chunkB.id] });
      expect(byChunks).toMatchObject({
        status: 'failed',
        error_message: `Chunks not found in knowledge base ${kbA}: ${chunkB.id}`,
      });
    });

    it("vector_storage cannot point a vector at kb_b's chunk, or store kb_b's document", async () => {
      const values = Array.from({ length: 384 }, (_, i) => Math.sin(i));
      const byChunk = await runAsA('vector_storage', { vectors: [{ chunk_id: chunkB.id, values }] });
      expect(byChunk).toMatchObject({
        status: 'failed',
        error_message: `Chunks not found in knowledge base ${kbA}: ${chunkB.id}`,
      });
      const byDocument = await runAsA('vector_storage', { document_id: docB });
      expect(byDocument).toMatchObject({
        status: 'failed',
        error_message: `Document ${docB} not found in knowledge base ${kbA}`,
      });
    });

    it("knowledge_indexing cannot index kb_b's document", async () => {
      const task = await runAsA('knowledge_indexing', { document_id: docB });
      expect(task).toMatchObject({
        status: 'failed',
        error_message: `Document ${docB} not found in knowledge base ${kbA}`,
      });
    });

    it('batch_processing cannot create tasks in kb_b', async () => {
      const res = await create(keyA, {
        task_type: 'batch_processing',
        kb_id: kbA,
        payload: { items: [{ task_type: 'knowledge_indexing', kb_id: kbB, payload: { document_id: docB } }] },
      }).expect(400);
      expect(Object.keys(res.body.details.fields)).toEqual(['payload.items[0].kb_id']);
    });
  });

  it("vector search joins only kb_a's chunks, even for a vector that names kb_b's chunk (stored before the check existed)", async () => {
    const own = await t.prisma.vector.findFirstOrThrow({ where: { kbId: kbA } });
    const bVector = await t.prisma.vector.findFirstOrThrow({ where: { kbId: kbB, chunkId: chunkB.id } });
    await t.prisma.vector.create({
      data: {
        kbId: kbA,
        id: 'legacy-foreign',
        chunkId: chunkB.id,
        documentId: docB,
        model: own.model,
        dimension: own.dimension,
        values: bVector.values,
      },
    });
    try {
      const res = await request(t.http)
        .get(`/api/v1/kbs/${kbA}/search`)
        .query({ q: chunkB.content, mode: 'vector' })
        .set(as(keyA))
        .expect(200);
      const legacy = res.body.results.find((hit: { chunk_id: string }) => hit.chunk_id === chunkB.id);
      expect(legacy).toMatchObject({ content: null, source_path: null });
      expect(JSON.stringify(res.body.results)).not.toContain('zebra');
    } finally {
      await t.prisma.vector.delete({ where: { kbId_id: { kbId: kbA, id: 'legacy-foreign' } } });
    }
  });
});
