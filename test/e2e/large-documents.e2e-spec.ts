import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { extractText } from '../../src/pipeline/text-extractor';
import { splitText } from '../../src/pipeline/text-splitter';
import { createTestApp, TestApp, uniqueKb, waitFor } from '../setup/test-app';

const MAX_FILE_BYTES = 20_000_000;

/** About `bytes` of English-like text in paragraphs, each line tagged with `marker`. */
function generatedText(bytes: number, marker: string): string {
  const words = [
    'harbour',
    'lantern',
    'granite',
    'meadow',
    'copper',
    'willow',
    'signal',
    'orchard',
    'thunder',
    'pelican',
  ];
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `${marker} ${i}: ${Array.from({ length: 12 }, (_, w) => words[(i * 7 + w * 3) % words.length]).join(' ')}.${i % 8 === 7 ? '\n' : ''}`;
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join('\n').slice(0, bytes);
}

describe('Large documents (e2e)', () => {
  let t: TestApp;
  let uploads: string;

  beforeAll(async () => {
    uploads = mkdtempSync(join(tmpdir(), 'tm-large-'));
    t = await createTestApp({ UPLOAD_DIR: uploads, MAX_FILE_BYTES: String(MAX_FILE_BYTES) });
  });

  afterAll(async () => {
    await t.close();
    rmSync(uploads, { recursive: true, force: true });
  });

  const create = (body: Record<string, unknown>) => request(t.http).post('/api/v1/tasks').send(body).expect(201);
  const settled = (id: string, timeoutMs: number) =>
    waitFor(
      async () => (await request(t.http).get(`/api/v1/tasks/${id}`)).body,
      (task) => ['completed', 'failed', 'cancelled'].includes(task.status),
      { timeoutMs, intervalMs: 250, what: `task ${id} to settle` },
    );

  it('ingests a text file near MAX_FILE_BYTES end to end, storing every chunk', async () => {
    const kb = uniqueKb('large');
    const file = join(uploads, 'large.txt');
    writeFileSync(file, generatedText(19_500_000, 'line'));
    const expected = splitText((await extractText(file)).text, { chunkSize: 1000, chunkOverlap: 200 }).length;

    const { body } = await create({
      task_type: 'document_processing',
      kb_id: kb,
      max_retries: 0,
      timeout: 1200,
      payload: { file_path: 'large.txt' },
    });
    const task = await settled(body.id, 600000);
    expect({ status: task.status, error: task.error_message }).toEqual({ status: 'completed', error: '' });
    expect(task.result.chunk_count).toBe(expected);
    expect(await t.prisma.chunk.count({ where: { kbId: kb } })).toBe(expected);
    const page = (await request(t.http).get(`/api/v1/kbs/${kb}/documents`).expect(200)).body;
    expect(page.documents[0]).toMatchObject({ id: task.result.document_id, chunk_count: expected });
    const hits = (
      await request(t.http).get(`/api/v1/kbs/${kb}/search`).query({ q: 'line 123456', mode: 'fulltext' }).expect(200)
    ).body.results;
    expect(hits.length).toBeGreaterThan(0);
  }, 700000);

  it('fails a file over MAX_FILE_BYTES at once, naming the limit', async () => {
    const kb = uniqueKb('too_large');
    writeFileSync(join(uploads, 'too-large.txt'), 'x'.repeat(MAX_FILE_BYTES + 1));
    const { body } = await create({
      task_type: 'document_processing',
      kb_id: kb,
      max_retries: 3,
      payload: { file_path: 'too-large.txt' },
    });
    const task = await settled(body.id, 60000);
    expect(task).toMatchObject({ status: 'failed', retry_count: 0 });
    expect(task.error_message).toMatch(/^File is too large: too-large.txt .* the limit is/);
  });

  it('replaces the chunks of a reprocessed document so that a reader sees the old or the new ones, never a mix', async () => {
    const kb = uniqueKb('generations');
    const file = join(uploads, 'versions.txt');
    writeFileSync(file, generatedText(2_500_000, 'alpha'));
    const first = await settled(
      (await create({ task_type: 'document_processing', kb_id: kb, payload: { file_path: 'versions.txt' } })).body.id,
      300000,
    );
    expect(first.status).toBe('completed');
    const documentId = first.result.document_id;

    writeFileSync(file, generatedText(3_000_000, 'bravo'));
    const second = (
      await create({ task_type: 'document_processing', kb_id: kb, payload: { file_path: 'versions.txt' } })
    ).body.id;
    let task: { status: string; result: { chunk_count: number } };
    do {
      const document = (await request(t.http).get(`/api/v1/kbs/${kb}/documents/${documentId}`).expect(200)).body;
      const markers = new Set<string>(
        document.chunks.map((c: { content: string }) => /\b(alpha|bravo) \d+:/.exec(c.content)?.[1] ?? 'none'),
      );
      expect({ chunks: document.chunks.length, markers: markers.size }).toEqual({
        chunks: document.chunk_count,
        markers: 1,
      });
      task = (await request(t.http).get(`/api/v1/tasks/${second}`)).body;
    } while (!['completed', 'failed', 'cancelled'].includes(task.status));
    expect(task.status).toBe('completed');
    // The task may have finished between the last read of the document and that of the task:
    // once it has, a reader sees the new version only.
    const after = (await request(t.http).get(`/api/v1/kbs/${kb}/documents/${documentId}`).expect(200)).body;
    expect(
      new Set(after.chunks.map((c: { content: string }) => /\b(alpha|bravo) \d+:/.exec(c.content)?.[1] ?? 'none')),
    ).toEqual(new Set(['bravo']));
    // Superseded chunks are gone, not just hidden.
    expect(await t.prisma.chunk.count({ where: { documentId } })).toBe(task.result.chunk_count);
  }, 400000);
});
