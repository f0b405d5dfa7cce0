import { execFileSync } from 'node:child_process';
import { cpSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createTestApp, TestApp, uniqueKb, waitFor, waitForSettled } from '../setup/test-app';

const FIXTURES = join(__dirname, '..', 'fixtures');
const PHRASES: Record<string, string> = {
  'sample.txt': 'saffron lighthouse',
  'sample.md': 'velvet thunderstorm',
  'sample.html': 'copper nightingale',
  'sample.pdf': 'ultramarine pelican',
  'sample.docx': 'obsidian carousel',
};
const codePoints = (s: string) => [...s].length;

describe('Knowledge-base pipeline (e2e)', () => {
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

  describe('every format, ingested end to end with the pipeline flag', () => {
    const kb = uniqueKb('formats');
    const documents: Record<string, string> = {};

    beforeAll(async () => {
      const ids = await Promise.all(
        Object.keys(PHRASES).map(async (file) => {
          const res = await create({
            task_type: 'document_processing',
            kb_id: kb,
            payload: { file_path: file, chunk_size: 200, chunk_overlap: 40, pipeline: true },
          }).expect(201);
          return [file, res.body.id as string] as const;
        }),
      );
      for (const [file, id] of ids) {
        const task = await settled(id);
        expect({ file, status: task.status, error: task.error_message }).toEqual({
          file,
          status: 'completed',
          error: '',
        });
        documents[file] = task.result.document_id;
      }
    });

    it('reports the document and every stage in the parent result', async () => {
      const tasks = (await request(t.http).get('/api/v1/tasks').query({ kb_id: kb, task_type: 'document_processing' }))
        .body.tasks;
      const pdf = tasks.find((task: { payload: { file_path: string } }) => task.payload.file_path === 'sample.pdf');
      expect(pdf.progress).toBe(100);
      expect(pdf.result).toMatchObject({
        format: 'pdf',
        pages: 2,
        content_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
      expect(pdf.result.chunk_count).toBeGreaterThan(1);
      expect(Object.keys(pdf.result.pipeline)).toEqual(
        expect.arrayContaining(['embedding_generation', 'vector_storage', 'knowledge_indexing']),
      );
      expect(pdf.result.pipeline.vector_storage.result.stored).toBe(pdf.result.chunk_count);
      const stages = await t.prisma.task.findMany({ where: { parentId: pdf.id }, orderBy: { createdAt: 'asc' } });
      expect(stages.map((s) => [s.taskType, s.status])).toEqual([
        ['embedding_generation', 'completed'],
        ['vector_storage', 'completed'],
        ['knowledge_indexing', 'completed'],
      ]);
    });

    it.each(Object.entries(PHRASES))(
      'finds the phrase of %s first in fulltext and hybrid search',
      async (file, phrase) => {
        for (const mode of ['fulltext', 'hybrid']) {
          const res = await request(t.http)
            .get(`/api/v1/kbs/${kb}/search`)
            .query({ q: phrase, mode, limit: 5 })
            .expect(200);
          expect(res.body.results.length).toBeGreaterThan(0);
          const [top] = res.body.results;
          expect(top.document_id).toBe(documents[file]);
          expect(top.content.replace(/\s+/g, ' ').toLowerCase()).toContain(phrase);
        }
      },
    );

    it('returns the queried chunk first in vector search when querying with its exact text', async () => {
      const detail = (await request(t.http).get(`/api/v1/kbs/${kb}/documents/${documents['sample.md']}`).expect(200))
        .body;
      const chunk = detail.chunks[1];
      const res = await request(t.http)
        .get(`/api/v1/kbs/${kb}/search`)
        .query({ q: chunk.content, mode: 'vector', limit: 3 })
        .expect(200);
      expect(res.body.results[0].chunk_id).toBe(chunk.id);
      expect(res.body.results[0].score).toBeCloseTo(1, 5);
    });

    it('keeps every chunk within chunk_size and shares exactly chunk_overlap characters between neighbours', async () => {
      for (const documentId of Object.values(documents)) {
        const detail = (await request(t.http).get(`/api/v1/kbs/${kb}/documents/${documentId}`).expect(200)).body;
        expect(detail.chunks).toHaveLength(detail.chunk_count);
        for (const [i, chunk] of detail.chunks.entries()) {
          expect(codePoints(chunk.content)).toBeLessThanOrEqual(200);
          expect(codePoints(chunk.content)).toBe(chunk.end - chunk.start);
          if (i > 0) {
            const previous = detail.chunks[i - 1];
            expect(chunk.start).toBe(previous.end - 40);
            expect([...chunk.content].slice(0, 40).join('')).toBe([...previous.content].slice(-40).join(''));
          }
        }
      }
    });

    it('lists the documents of the kb with paging and 404s an unknown one', async () => {
      const page = (await request(t.http).get(`/api/v1/kbs/${kb}/documents`).query({ page_size: 2 }).expect(200)).body;
      expect(page.pagination).toEqual({ page: 1, page_size: 2, total: 5, total_pages: 3 });
      expect(page.documents[0]).toMatchObject({
        kb_id: kb,
        chunk_size: 200,
        chunk_overlap: 40,
        indexed_at: expect.any(String),
      });
      await request(t.http).get(`/api/v1/kbs/${kb}/documents/00000000-0000-4000-8000-000000000000`).expect(404);
      await request(t.http).get(`/api/v1/kbs/other_kb/documents/${documents['sample.txt']}`).expect(404);
    });

    it('refuses a bad search query', async () => {
      await request(t.http).get(`/api/v1/kbs/${kb}/search`).query({ mode: 'fulltext' }).expect(400);
      await request(t.http).get(`/api/v1/kbs/${kb}/search`).query({ q: 'x', mode: 'psychic' }).expect(400);
      await request(t.http).get(`/api/v1/kbs/${kb}/search`).query({ q: 'x', limit: 0 }).expect(400);
    });
  });

  describe('reprocessing', () => {
    it('replaces the chunks of a changed file and skips an unchanged one', async () => {
      const kb = uniqueKb('reprocess');
      const file = join(uploads, `${kb}.txt`);
      writeFileSync(file, 'First version. '.repeat(40));
      const payload = { file_path: `${kb}.txt`, chunk_size: 100, chunk_overlap: 10 };
      const first = await settled(
        (await create({ task_type: 'document_processing', kb_id: kb, payload }).expect(201)).body.id,
      );
      expect(first.status).toBe('completed');
      const documentId = first.result.document_id;
      const oldChunkIds = (await t.prisma.chunk.findMany({ where: { documentId } })).map((c) => c.id);

      const same = await settled(
        (await create({ task_type: 'document_processing', kb_id: kb, payload }).expect(201)).body.id,
      );
      expect(same.result).toMatchObject({
        document_id: documentId,
        unchanged: true,
        chunk_count: first.result.chunk_count,
      });

      writeFileSync(file, 'Second, much longer version of the document. '.repeat(60));
      const second = await settled(
        (await create({ task_type: 'document_processing', kb_id: kb, payload }).expect(201)).body.id,
      );
      expect(second.result).toMatchObject({ document_id: documentId, unchanged: false });
      expect(second.result.content_hash).not.toBe(first.result.content_hash);
      const chunks = await t.prisma.chunk.findMany({ where: { documentId } });
      expect(chunks).toHaveLength(second.result.chunk_count);
      expect(chunks.some((c) => oldChunkIds.includes(c.id))).toBe(false);
      expect(await t.prisma.document.count({ where: { kbId: kb } })).toBe(1);
    });
  });

  describe('files are confined and checked', () => {
    const kb = uniqueKb('confined');

    it.each([['../outside.txt'], ['/etc/passwd'], ['a/../../etc/passwd'], ['escape-link/secret.txt'], ['notes.xyz']])(
      'refuses %s with 400 naming payload.file_path',
      async (filePath) => {
        const outside = mkdtempSync(join(tmpdir(), 'tm-outside-'));
        writeFileSync(join(outside, 'secret.txt'), 'secret');
        try {
          symlinkSync(outside, join(uploads, 'escape-link'));
        } catch {
          // already linked by an earlier case
        }
        const res = await create({
          task_type: 'document_processing',
          kb_id: kb,
          payload: { file_path: filePath },
        }).expect(400);
        expect(res.body.code).toBe('INVALID_REQUEST');
        expect(Object.keys(res.body.details.fields)).toEqual(['payload.file_path']);
      },
    );

    it('refuses chunk_overlap not smaller than chunk_size', async () => {
      const res = await create({
        task_type: 'document_processing',
        kb_id: kb,
        payload: { file_path: 'sample.txt', chunk_size: 100, chunk_overlap: 100 },
      }).expect(400);
      expect(res.body.details.fields['payload.chunk_overlap']).toBeDefined();
    });

    it('fails a task whose file is missing with a clear message', async () => {
      const res = await create({
        task_type: 'document_processing',
        kb_id: kb,
        max_retries: 1,
        payload: { file_path: 'missing/report.pdf' },
      }).expect(201);
      const task = await settled(res.body.id);
      expect(task.status).toBe('failed');
      expect(task.error_message).toBe('File not found: missing/report.pdf');
      expect(task.retry_count).toBe(1);
    });

    it('fails FIFOs at once without wedging a libuv thread: a document after them still completes', async () => {
      // More FIFOs than libuv has threads (4): a read that waited on one would take a thread for good.
      const fifos = Array.from({ length: 6 }, (_, i) => `pipe-${i}.txt`);
      for (const fifo of fifos) execFileSync('mkfifo', [join(uploads, fifo)]);
      const ids = await Promise.all(
        fifos.map(
          async (file) =>
            (
              await create({
                task_type: 'document_processing',
                kb_id: kb,
                max_retries: 3,
                payload: { file_path: file },
              }).expect(201)
            ).body.id as string,
        ),
      );
      for (const [i, id] of ids.entries()) {
        expect(await settled(id)).toMatchObject({
          status: 'failed',
          retry_count: 0,
          error_message: `Not a regular file: ${fifos[i]}`,
        });
      }
      const after = await create({
        task_type: 'document_processing',
        kb_id: uniqueKb('after_fifo'),
        payload: { file_path: 'sample.txt' },
      }).expect(201);
      expect((await settled(after.body.id)).status).toBe('completed');
    });

    it('refuses a hard link to a file outside the upload folder', async () => {
      const outside = mkdtempSync(join(tmpdir(), 'tm-outside-'));
      writeFileSync(join(outside, 'shadow.txt'), 'root:secret-hash');
      linkSync(join(outside, 'shadow.txt'), join(uploads, 'planted.txt'));
      const res = await create({
        task_type: 'document_processing',
        kb_id: kb,
        max_retries: 3,
        payload: { file_path: 'planted.txt' },
      }).expect(201);
      const task = await settled(res.body.id);
      expect(task).toMatchObject({ status: 'failed', retry_count: 0 });
      expect(task.error_message).toBe(
        'File has 2 hard links; hard-linked uploads are refused (UPLOAD_ALLOW_HARD_LINKS): planted.txt',
      );
      rmSync(outside, { recursive: true, force: true });
    });

    it('fails a corrupt PDF at once, naming the format', async () => {
      mkdirSync(join(uploads, 'bad'), { recursive: true });
      writeFileSync(join(uploads, 'bad', 'broken.pdf'), 'this is not a pdf');
      const res = await create({
        task_type: 'document_processing',
        kb_id: kb,
        max_retries: 3,
        payload: { file_path: 'bad/broken.pdf' },
      }).expect(201);
      const task = await settled(res.body.id);
      expect(task.status).toBe('failed');
      expect(task.error_message).toMatch(/PDF/);
      expect(task.retry_count).toBe(0);
    });
  });

  describe('batch processing', () => {
    it('creates linked children and completes with their outcomes once all finish', async () => {
      const kb = uniqueKb('batch');
      const res = await create({
        task_type: 'batch_processing',
        kb_id: kb,
        max_retries: 0,
        payload: { file_paths: ['sample.txt', 'sample.html', 'nowhere.txt'], chunk_size: 300 },
      }).expect(201);
      const parent = await settled(res.body.id);
      expect(parent.status).toBe('completed');
      expect(parent.progress).toBe(100);
      expect(parent.result).toMatchObject({ total: 3, completed: 2, failed: 1, cancelled: 0 });
      expect(parent.result.children.failed[0].error_message).toBe('File not found: nowhere.txt');
      const children = await t.prisma.task.findMany({ where: { parentId: parent.id } });
      expect(children).toHaveLength(3);
      const child = (await request(t.http).get(`/api/v1/tasks/${children[0].id}`).expect(200)).body;
      expect(child.parent_id).toBe(parent.id);
    });

    it('runs given task requests as children and validates them at create time', async () => {
      const kb = uniqueKb('items');
      const bad = await create({
        task_type: 'batch_processing',
        kb_id: kb,
        payload: {
          items: [
            { task_type: 'health_check', payload: {} },
            { task_type: 'nope', payload: {} },
          ],
        },
      }).expect(400);
      expect(Object.keys(bad.body.details.fields)).toContain('payload.items[1].task_type');
      const res = await create({
        task_type: 'batch_processing',
        kb_id: kb,
        payload: {
          items: [
            { task_type: 'health_check', payload: {} },
            { task_type: 'health_check', priority: 'high', payload: { checks: ['database'] } },
          ],
        },
      }).expect(201);
      const parent = await settled(res.body.id);
      expect(parent.result).toMatchObject({ total: 2, completed: 2 });
    });

    it('cancels its children when it is cancelled', async () => {
      const kb = uniqueKb('cancelbatch');
      const slow = { task_type: 'health_check', payload: { samples: 300, interval_ms: 100 } };
      const res = await create({
        task_type: 'batch_processing',
        kb_id: kb,
        payload: { items: [slow, slow, slow] },
      }).expect(201);
      await waitFor(
        () => t.prisma.task.count({ where: { parentId: res.body.id } }),
        (n) => n === 3,
        { what: 'children' },
      );
      await request(t.http).delete(`/api/v1/tasks/${res.body.id}`).expect(200);
      const children = await waitFor(
        () => t.prisma.task.findMany({ where: { parentId: res.body.id } }),
        (rows) => rows.every((c) => c.status === 'cancelled'),
        { what: 'children cancelled' },
      );
      expect(children).toHaveLength(3);
    });
  });

  describe('vector storage', () => {
    it('stores given vectors and refuses another dimension for the same kb', async () => {
      const kb = uniqueKb('vectors');
      const ok = await create({
        task_type: 'vector_storage',
        kb_id: kb,
        payload: {
          vectors: [
            { id: 'a', values: [1, 0, 0] },
            { id: 'b', values: [0, 1, 0], metadata: { tag: 'x' } },
          ],
          model: 'external-3d',
        },
      }).expect(201);
      const task = await settled(ok.body.id);
      expect(task.result).toMatchObject({ stored: 2, dimension: 3 });
      expect(await t.prisma.vector.count({ where: { kbId: kb } })).toBe(2);
      const bad = await create({
        task_type: 'vector_storage',
        kb_id: kb,
        payload: { vectors: [{ id: 'c', values: [1, 2] }] },
      }).expect(400);
      expect(bad.body.details.fields.payload).toBeUndefined();
      expect(Object.keys(bad.body.details.fields)).toContain('payload.vectors');
      const mixed = await create({
        task_type: 'vector_storage',
        kb_id: kb,
        payload: { vectors: [{ values: [1, 2, 3] }, { values: [1] }] },
      }).expect(400);
      expect(Object.keys(mixed.body.details.fields)).toContain('payload.vectors[1].values');
    });

    // A pipeline run whose document was reprocessed (other chunking) between its stages reads
    // a newer generation of chunks that nothing embedded yet: its vector_storage stage must
    // embed them and store the document's current vectors, not fail (found by an outside run).
    it("stores a document's current vectors by document_id, embedding chunks that have none first", async () => {
      const kb = uniqueKb('docvectors');
      const ingested = await settled(
        (
          await create({
            task_type: 'document_processing',
            kb_id: kb,
            payload: { file_path: 'sample.md', chunk_size: 300, chunk_overlap: 30 },
          }).expect(201)
        ).body.id,
      );
      expect(ingested.status).toBe('completed');
      const documentId = ingested.result.document_id as string;
      const reprocessed = await settled(
        (
          await create({
            task_type: 'document_processing',
            kb_id: kb,
            payload: { file_path: 'sample.md', document_id: documentId, chunk_size: 200, chunk_overlap: 20 },
          }).expect(201)
        ).body.id,
      );
      expect(reprocessed.status).toBe('completed');
      const chunkCount = reprocessed.result.chunk_count as number;
      expect(await t.prisma.embedding.count({ where: { chunk: { documentId } } })).toBe(0);

      const stored = await settled(
        (await create({ task_type: 'vector_storage', kb_id: kb, payload: { document_id: documentId } }).expect(201))
          .body.id,
      );
      expect({ status: stored.status, error: stored.error_message, stored: stored.result?.stored }).toEqual({
        status: 'completed',
        error: '',
        stored: chunkCount,
      });
      const document = await t.prisma.document.findUniqueOrThrow({ where: { id: documentId } });
      const currentChunks = await t.prisma.chunk.findMany({
        where: { documentId, generation: document.generation },
        select: { id: true },
      });
      const vectors = await t.prisma.vector.findMany({ where: { kbId: kb }, select: { chunkId: true } });
      expect(vectors.map((v) => v.chunkId).sort()).toEqual(currentChunks.map((c) => c.id).sort());
    });
  });
  describe('content that is not shown is not indexed', () => {
    it('drops script, style, noscript and template text from an HTML page, so search does not find it', async () => {
      const kb = uniqueKb('hidden');
      const res = await create({
        task_type: 'document_processing',
        kb_id: kb,
        payload: { file_path: 'hidden-content.html', pipeline: true },
      }).expect(201);
      expect((await settled(res.body.id)).status).toBe('completed');
      const search = async (q: string) =>
        (await request(t.http).get(`/api/v1/kbs/${kb}/search`).query({ q, mode: 'fulltext' }).expect(200)).body.results;
      expect(await search('lanterns')).toHaveLength(1);
      for (const hidden of ['marzipanwolf', 'tangerinequokka', 'gravelmoose', 'cobaltherring', 'saffronyak']) {
        expect({ hidden, results: await search(hidden) }).toEqual({ hidden, results: [] });
      }
    });
  });

  describe('progress', () => {
    it('only ever rises within an attempt of a many-page PDF pipeline task, in its history and its messages', async () => {
      const kb = uniqueKb('pdfprogress');
      const res = await create({
        task_type: 'document_processing',
        kb_id: kb,
        payload: { file_path: 'long.pdf', chunk_size: 300, pipeline: true },
      }).expect(201);
      const task = await settled(res.body.id, 60000);
      expect(task.status).toBe('completed');
      const history = (await request(t.http).get(`/api/v1/tasks/${res.body.id}/history`).expect(200)).body;
      const events: { attempt: number; progress: number; message: string | null }[] = history.events;
      const pages = events.filter((e) => /^Extracted page \d+ of 40$/.test(e.message ?? ''));
      expect(pages.length).toBeGreaterThan(1);
      expect(pages.map((e) => e.message)).toEqual(
        [...pages.map((e) => e.message)].sort((a, b) => Number(a!.split(' ')[2]) - Number(b!.split(' ')[2])),
      );
      for (const [i, event] of events.entries()) {
        const previous = events[i - 1];
        if (previous?.attempt === event.attempt)
          expect({ i, progress: event.progress }).toEqual({ i, progress: Math.max(event.progress, previous.progress) });
      }
      expect(events.map((e) => e.message)).toContain(`Storing ${task.result.chunk_count} chunks`);
    });

    it('says "1 chunk", not "1 chunks"', async () => {
      const kb = uniqueKb('onechunk');
      writeFileSync(join(uploads, `${kb}.txt`), 'One short line.');
      const res = await create({
        task_type: 'document_processing',
        kb_id: kb,
        payload: { file_path: `${kb}.txt` },
      }).expect(201);
      expect((await settled(res.body.id)).result.chunk_count).toBe(1);
      const history = (await request(t.http).get(`/api/v1/tasks/${res.body.id}/history`).expect(200)).body;
      expect(history.events.map((e: { message: string | null }) => e.message)).toContain('Storing 1 chunk');
    });
  });
});
