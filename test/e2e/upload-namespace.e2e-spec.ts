import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import request from 'supertest';
import { AppRole } from '../../src/config/env.validation';
import { DeploymentSettingsRepository } from '../../src/kbs/deployment-settings.repository';
import { makeKey } from '../setup/auth-helpers';
import { ServiceProcess, startService, TcpProxy } from '../setup/processes';
import { createTestApp, TestApp, uniqueKb, waitFor } from '../setup/test-app';
import { TEST_DATABASE_URL } from '../setup/test-env';

type Json = Record<string, any>;

/** The row every process of the test database shares: read, removed and put back by the tests below. */
const db = new Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
const readMode = async (): Promise<string | null> =>
  (await db.query<{ value: string }>("SELECT value FROM deployment_settings WHERE key = 'upload_namespace'")).rows[0]
    ?.value ?? null;
const deleteMode = () => db.query("DELETE FROM deployment_settings WHERE key = 'upload_namespace'");
const writeMode = (value: string) =>
  db.query(
    "INSERT INTO deployment_settings (key, value) VALUES ('upload_namespace', $1) ON CONFLICT (key) DO UPDATE SET value = $1, updated_at = now()",
    [value],
  );

let modeBefore: string | null = null;
beforeAll(async () => {
  modeBefore = await readMode();
});
afterAll(async () => {
  await (modeBefore === null ? deleteMode() : writeMode(modeBefore));
  await db.end();
});

const settled = (http: TestApp['http'], id: string, headers: Record<string, string> = {}) =>
  waitFor(
    async () => (await request(http).get(`/api/v1/tasks/${id}`).set(headers)).body as Json,
    (task) => ['completed', 'failed', 'cancelled'].includes(task.status),
    { timeoutMs: 60000, what: `task ${id} to settle` },
  );

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
    await deleteMode();
    api = await createTestApp(
      { UPLOAD_DIR: uploads, API_KEYS: JSON.stringify([keyA.entry]), UPLOAD_NAMESPACE: 'auto' },
      AppRole.Api,
    );
    // Recorded in the background at boot; the worker's first task must find it.
    await waitFor(readMode, (mode) => mode === 'per_kb', { what: 'the API to record per_kb' });
    // The worker has no credentials at all, so its own resolution of auto would be `shared`.
    worker = await startService('worker', {
      QUEUE_PREFIX: api.prefix,
      UPLOAD_DIR: uploads,
      UPLOAD_NAMESPACE: 'auto',
      API_KEYS: '',
      LOG_LEVEL: 'log',
    });
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
      .send({
        task_type: 'document_processing',
        kb_id: kbA,
        max_retries: 0,
        payload: { file_path: filePath, chunk_size: 200, chunk_overlap: 20 },
      })
      .expect(201);
    return settled(api.http, created.body.id, { 'X-API-Key': keyA.key });
  };

  it("tells the worker warning at start where its mode comes from, and records the API's mode", async () => {
    expect(worker.output.join('')).toMatch(/follows the upload mode the API recorded in PostgreSQL/);
    expect(await api.prisma.deploymentSetting.findUnique({ where: { key: 'upload_namespace' } })).toMatchObject({
      value: 'per_kb',
    });
  });

  it("reads kb_a's own file from UPLOAD_DIR/<kb_a>/ on the credential-less worker", async () => {
    const task = await runAsA('a.txt');
    expect({ status: task.status, error: task.error_message }).toEqual({ status: 'completed', error: '' });
    expect(task.worker_id).toMatch(/^worker_/);
  });

  it("never gives kb_a another kb's file through a path that is inside UPLOAD_DIR but outside kb_a's folder", async () => {
    const task = await runAsA(`${kbB}/b.txt`);
    expect(task.status).toBe('failed');
    expect(task.error_message).toMatch(/not found/i);
    const leaked = await api.prisma.chunk.count({ where: { kbId: kbA, content: { contains: 'obsidian heron' } } });
    expect(leaked).toBe(0);
  });
});

/**
 * PostgreSQL unreachable when the API starts: the API boots anyway and keeps trying to
 * record its mode in the background until it lands (before, it tried once, and a worker
 * then fell back to its own resolution).
 */
describe('Upload namespace: the API records its mode once PostgreSQL answers (e2e)', () => {
  const target = new URL(TEST_DATABASE_URL);
  const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const key = makeKey('ns-boot', 'write', [uniqueKb('ns_boot')]);
  let api: TestApp | undefined;

  afterAll(async () => {
    jest.restoreAllMocks();
    await proxy.restore();
    await api?.close();
    await proxy.cut();
  });

  it('boots with PostgreSQL cut off, retries the record, and records per_kb once the network is back', async () => {
    await deleteMode();
    const attempts = jest.spyOn(DeploymentSettingsRepository.prototype, 'record');
    const url = new URL(TEST_DATABASE_URL);
    url.port = String(await proxy.start());
    await proxy.cut();
    api = await createTestApp(
      { DATABASE_URL: url.toString(), API_KEYS: JSON.stringify([key.entry]), UPLOAD_NAMESPACE: 'auto' },
      AppRole.Api,
    );
    // A first attempt and at least one retry, all refused.
    await waitFor(
      async () => attempts.mock.calls.length,
      (calls) => calls >= 2,
      { what: 'the API to retry the record' },
    );
    expect(await readMode()).toBeNull();
    await proxy.restore();
    await waitFor(readMode, (mode) => mode === 'per_kb', { timeoutMs: 30000, what: 'the retried record to land' });
  });
});

/**
 * A credential-less worker in auto with no record: it must not guess (its own resolution
 * would be `shared`, reading the top of UPLOAD_DIR). Document tasks fail with a retryable
 * error that says why, and run once a mode is recorded.
 */
describe('Upload namespace: a worker with no recorded mode does not guess (e2e)', () => {
  let api: TestApp;
  let worker: ServiceProcess;
  let uploads: string;
  const kb = uniqueKb('ns_none');

  beforeAll(async () => {
    uploads = mkdtempSync(join(tmpdir(), 'tm-namespace-none-'));
    mkdirSync(join(uploads, kb));
    writeFileSync(join(uploads, kb, 'c.txt'), 'Copper kettles beside the tidal mill. '.repeat(10));
    await deleteMode();
    api = await createTestApp({ UPLOAD_DIR: uploads, UPLOAD_NAMESPACE: 'per_kb', API_KEYS: '' }, AppRole.Api);
    // An API records its mode once, explicit too; removed after that, no process writes it again during the test.
    await waitFor(readMode, (mode) => mode === 'per_kb', { what: 'the API to record its explicit per_kb' });
    await deleteMode();
    worker = await startService('worker', {
      QUEUE_PREFIX: api.prefix,
      UPLOAD_DIR: uploads,
      UPLOAD_NAMESPACE: 'auto',
      API_KEYS: '',
    });
  });

  afterAll(async () => {
    await worker?.stop();
    await api.prisma.task.deleteMany({ where: { kbId: kb } });
    await api.close();
    rmSync(uploads, { recursive: true, force: true });
  });

  it('fails document tasks retryably while no mode is recorded, and runs them once one is', async () => {
    const created = await request(api.http)
      .post('/api/v1/tasks')
      .send({
        task_type: 'document_processing',
        kb_id: kb,
        max_retries: 10,
        payload: { file_path: 'c.txt', chunk_size: 200, chunk_overlap: 20 },
      })
      .expect(201);
    const id = created.body.id as string;
    const retried = await waitFor(
      async () => (await request(api.http).get(`/api/v1/tasks/${id}`)).body as Json,
      (task) => task.retry_count >= 1 || task.status === 'failed',
      { timeoutMs: 30000, what: `task ${id} to fail an attempt` },
    );
    expect({ status: retried.status === 'failed' ? 'failed' : 'retrying', error: retried.error_message }).toEqual({
      status: 'retrying',
      error: expect.stringContaining('no API process has recorded its upload mode') as string,
    });
    await writeMode('per_kb');
    const task = await settled(api.http, id);
    expect({ status: task.status, error: task.error_message }).toEqual({ status: 'completed', error: '' });
    expect(task.retry_count).toBeGreaterThanOrEqual(1);
  });
});
