import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { AppRole } from '../../src/config/env.validation';
import { makeKey } from '../setup/auth-helpers';
import { ServiceProcess, startService } from '../setup/processes';
import { createTestApp, TestApp, uniqueKb, waitFor } from '../setup/test-app';

/**
 * UPLOAD_NAMESPACE=auto is resolved from credentials, which only the API holds. A worker
 * started without them (workers need none) must still read each kb's files from
 * UPLOAD_DIR/<kb_id>/, as the API that checked the path decided — found by an outside run,
 * where such a worker read `kb_b/b.txt` of kb_a's task from the top of UPLOAD_DIR.
 */
describe('Upload namespace across processes (e2e)', () => {
  let api: TestApp;
  let worker: ServiceProcess;
  let uploads: string;
  const kbA = uniqueKb('ns_a');
  const kbB = uniqueKb('ns_b');
  const keyA = makeKey('ns-a', 'write', [kbA]);
  const B_TEXT = 'Only kb_b may read this: obsidian heron ledger. ';

  beforeAll(async () => {
    uploads = mkdtempSync(join(tmpdir(), 'tm-namespace-'));
    mkdirSync(join(uploads, kbA));
    mkdirSync(join(uploads, kbB));
    writeFileSync(join(uploads, kbA, 'a.txt'), 'Harbour lanterns and granite meadows. '.repeat(10));
    writeFileSync(join(uploads, kbB, 'b.txt'), B_TEXT.repeat(10));
    api = await createTestApp({ UPLOAD_DIR: uploads, API_KEYS: JSON.stringify([keyA.entry]), UPLOAD_NAMESPACE: 'auto' }, AppRole.Api);
    // The worker has no credentials at all, so its own resolution of auto would be `shared`.
    worker = await startService('worker', { QUEUE_PREFIX: api.prefix, UPLOAD_DIR: uploads, UPLOAD_NAMESPACE: 'auto', API_KEYS: '', LOG_LEVEL: 'log' });
  });

  afterAll(async () => {
    await worker?.stop();
    await api.prisma.task.deleteMany({ where: { kbId: { in: [kbA, kbB] } } });
    await api.close();
    rmSync(uploads, { recursive: true, force: true });
  });

  const runAsA = async (filePath: string) => {
    const created = await request(api.http)
      .post('/api/v1/tasks')
      .set('X-API-Key', keyA.key)
      .send({ task_type: 'document_processing', kb_id: kbA, max_retries: 0, payload: { file_path: filePath, chunk_size: 200, chunk_overlap: 20 } })
      .expect(201);
    return waitFor(
      async () => (await request(api.http).get(`/api/v1/tasks/${created.body.id}`).set('X-API-Key', keyA.key)).body,
      (task) => ['completed', 'failed', 'cancelled'].includes(task.status),
      { timeoutMs: 60000, what: `task ${created.body.id} to settle` },
    );
  };

  it('tells the worker warning at start where its mode comes from, and records the API\'s mode', async () => {
    expect(worker.output.join('')).toMatch(/follows the upload mode the API recorded in PostgreSQL/);
    expect(await api.prisma.deploymentSetting.findUnique({ where: { key: 'upload_namespace' } })).toMatchObject({ value: 'per_kb' });
  });

  it('reads kb_a\'s own file from UPLOAD_DIR/<kb_a>/ on the credential-less worker', async () => {
    const task = await runAsA('a.txt');
    expect({ status: task.status, error: task.error_message }).toEqual({ status: 'completed', error: '' });
    expect(task.worker_id).toMatch(/^worker_/);
  });

  it('never gives kb_a another kb\'s file through a path that is inside UPLOAD_DIR but outside kb_a\'s folder', async () => {
    const task = await runAsA(`${kbB}/b.txt`);
    expect(task.status).toBe('failed');
    expect(task.error_message).toMatch(/not found/i);
    const leaked = await api.prisma.chunk.count({ where: { kbId: kbA, content: { contains: 'obsidian heron' } } });
    expect(leaked).toBe(0);
  });
});
