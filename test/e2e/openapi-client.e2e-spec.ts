import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createTestApp, KbTracker, TestApp } from '../setup/test-app';

const ROOT = path.join(__dirname, '..', '..');
const bin = (name: string) => path.join(ROOT, 'node_modules', '.bin', name);

/**
 * A typed client written the way an integrator would, against the types openapi-typescript
 * generates with its default settings. It compiles only if the document types payload and
 * result per task type (narrowed by task_type), leaves optional request fields optional and
 * types the error body; it then runs the seed's flows against the service.
 */
const CLIENT = String.raw`
import createClient from 'openapi-fetch';
import type { components, paths } from './api';

type Task = components['schemas']['TaskResponseDto'];
type CreateTask = components['schemas']['CreateTaskDto'];
type ErrorCode = components['schemas']['ErrorResponseDto']['code'];

const client = createClient<paths>({ baseUrl: process.env.BASE_URL });
const kb = process.env.KB_ID as string;

async function create(body: CreateTask): Promise<Task> {
  const { data, error, response } = await client.POST('/api/v1/tasks', { body });
  if (!data) throw new Error('create ' + body.task_type + ': ' + response.status + ' ' + JSON.stringify(error));
  return data;
}

async function get(id: string): Promise<Task> {
  const { data, error } = await client.GET('/api/v1/tasks/{task_id}', { params: { path: { task_id: id } } });
  if (!data) throw new Error('get ' + id + ': ' + JSON.stringify(error));
  return data;
}

async function settle(task: Task): Promise<Task> {
  const deadline = Date.now() + 45000;
  for (;;) {
    const current = await get(task.id);
    if (current.status === 'completed' || current.status === 'failed' || current.status === 'cancelled') return current;
    if (Date.now() > deadline) throw new Error('task ' + task.id + ' did not finish: ' + current.status);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function main(): Promise<void> {
  const outcomes: Record<string, string> = {};

  const health = await settle(await create({ task_type: 'health_check', kb_id: kb, payload: { checks: ['database', 'redis'], samples: 2 } }));
  outcomes.health_check = health.status;
  // Narrowing on task_type types the result: a compile error if result were unknown.
  const healthStatus: 'healthy' | 'unhealthy' | undefined = health.task_type === 'health_check' ? health.result?.status : undefined;

  const document = await settle(await create({ task_type: 'document_processing', kb_id: kb, priority: 'high', payload: { file_path: 'examples/getting-started.md', chunk_size: 400 } }));
  outcomes.document_processing = document.status;
  if (document.task_type !== 'document_processing' || !document.result) throw new Error('document_processing has no result');
  const documentId: string = document.result.document_id;
  const chunkCount: number = document.result.chunk_count;
  // With payload.pipeline, each stage's result is typed (a compile error if it were an unknown map).
  const pipelineStored: number | undefined = document.result.pipeline?.vector_storage?.result.stored;
  const pipelineEmbedded: number | undefined = document.result.pipeline?.embedding_generation?.result.embedded;
  void [pipelineStored, pipelineEmbedded];

  const embedding = await settle(await create({ task_type: 'embedding_generation', kb_id: kb, payload: { document_id: documentId } }));
  outcomes.embedding_generation = embedding.status;
  const embedded: number | undefined = embedding.task_type === 'embedding_generation' ? embedding.result?.embedded : undefined;

  const vectors = await settle(await create({ task_type: 'vector_storage', kb_id: kb, payload: { document_id: documentId } }));
  outcomes.vector_storage = vectors.status;
  const stored: number | undefined = vectors.task_type === 'vector_storage' ? vectors.result?.stored : undefined;

  const indexing = await settle(await create({ task_type: 'knowledge_indexing', kb_id: kb, payload: { document_id: documentId } }));
  outcomes.knowledge_indexing = indexing.status;

  const batch = await settle(await create({ task_type: 'batch_processing', kb_id: kb, payload: { items: [{ task_type: 'health_check', payload: { samples: 1 } }] } }));
  outcomes.batch_processing = batch.status;
  const batchTotal = batch.task_type === 'batch_processing' ? batch.result?.total : undefined;

  // A task scheduled an hour ahead stays queued: progress is refused, cancel and retry work.
  const later = await create({ task_type: 'health_check', kb_id: kb, payload: {}, schedule_for: new Date(Date.now() + 3600000).toISOString() });
  const progress = await client.PUT('/api/v1/tasks/{task_id}/progress', { params: { path: { task_id: later.id } }, body: { progress: 50 } });
  const progressCode: ErrorCode | undefined = progress.error?.code;
  const cancel = await client.DELETE('/api/v1/tasks/{task_id}', { params: { path: { task_id: later.id } } });
  const retry = await client.POST('/api/v1/tasks/{task_id}/retry', { params: { path: { task_id: later.id } } });
  await client.DELETE('/api/v1/tasks/{task_id}', { params: { path: { task_id: later.id } } });
  const missing = await client.GET('/api/v1/tasks/{task_id}', { params: { path: { task_id: '00000000-0000-4000-8000-000000000000' } } });

  const list = await client.GET('/api/v1/tasks', { params: { query: { kb_id: kb, page_size: 50 } } });
  const stats = await client.GET('/api/v1/stats/tasks', {});
  const healthz = await client.GET('/health', {});

  console.log(JSON.stringify({
    outcomes,
    healthStatus,
    chunkCount,
    embedded,
    stored,
    batchTotal,
    progress: { status: progress.response.status, code: progressCode },
    cancel: { status: cancel.response.status, task_id: cancel.data?.task_id },
    retry: { status: retry.response.status, task_status: retry.data?.status },
    missing: { status: missing.response.status, code: missing.error?.code },
    list: { total: list.data?.pagination.total, types: list.data?.tasks.map((t) => t.task_type).sort() },
    stats: { total_tasks: stats.data?.total_tasks },
    health: { status: healthz.response.status },
  }));
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
`;

describe('A client generated from /docs-json with openapi-typescript (e2e)', () => {
  const kbs = new KbTracker();
  let t: TestApp;
  let dir: string;
  let uploads: string;
  let baseUrl: string;

  beforeAll(async () => {
    uploads = mkdtempSync(path.join(tmpdir(), 'tm-client-'));
    t = await createTestApp({ UPLOAD_DIR: uploads });
    await t.app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    // Inside the repository, so the client resolves openapi-fetch and @types/node from its node_modules.
    mkdirSync(path.join(ROOT, 'tmp'), { recursive: true });
    dir = mkdtempSync(path.join(ROOT, 'tmp', 'openapi-client-'));
  });

  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(uploads, { recursive: true, force: true });
  });

  it('generates types with the default settings, compiles under tsc --strict and runs the seed flows', async () => {
    const document = await (await fetch(`${baseUrl}/docs-json`)).json();
    writeFileSync(path.join(dir, 'openapi.json'), JSON.stringify(document));
    execFileSync(bin('openapi-typescript'), ['openapi.json', '-o', 'api.d.ts'], { cwd: dir, stdio: 'pipe' });
    writeFileSync(path.join(dir, 'client.ts'), CLIENT);

    const tsc = [
      '--strict',
      '--noEmit',
      '--target',
      'es2022',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--types',
      'node',
      'client.ts',
    ];
    try {
      execFileSync(bin('tsc'), tsc, { cwd: dir, stdio: 'pipe' });
    } catch (error) {
      throw new Error(`the generated client does not compile:\n${String((error as { stdout?: Buffer }).stdout)}`);
    }

    const kb = kbs.kb('client');
    // Asynchronously: the service answering the client runs in this very process.
    const { stdout: output } = await promisify(execFile)(process.execPath, ['-r', '@swc-node/register', 'client.ts'], {
      cwd: dir,
      env: { ...process.env, BASE_URL: baseUrl, KB_ID: kb, NODE_OPTIONS: '' },
      encoding: 'utf8',
      timeout: 240000,
    });
    const summary = JSON.parse(output.trim().split('\n').pop()!);
    expect(summary).toEqual({
      outcomes: {
        health_check: 'completed',
        document_processing: 'completed',
        embedding_generation: 'completed',
        vector_storage: 'completed',
        knowledge_indexing: 'completed',
        batch_processing: 'completed',
      },
      healthStatus: 'healthy',
      chunkCount: expect.any(Number),
      embedded: summary.chunkCount,
      stored: summary.chunkCount,
      batchTotal: 1,
      progress: { status: 409, code: 'TASK_NOT_PROCESSING' },
      cancel: { status: 200, task_id: expect.any(String) },
      retry: { status: 200, task_status: 'queued' },
      missing: { status: 404, code: 'TASK_NOT_FOUND' },
      list: {
        total: 8,
        types: expect.arrayContaining([
          'batch_processing',
          'document_processing',
          'embedding_generation',
          'health_check',
          'knowledge_indexing',
          'vector_storage',
        ]),
      },
      stats: { total_tasks: expect.any(Number) },
      health: { status: 200 },
    });
    expect(summary.chunkCount).toBeGreaterThan(0);
  }, 300000);
});
