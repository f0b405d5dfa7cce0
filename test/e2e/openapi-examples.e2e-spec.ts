import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { SAMPLE_DOCUMENT_PATH } from '../../src/kbs/sample-document.service';
import { createTestApp, TestApp, waitFor } from '../setup/test-app';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
/** The kbs the documented examples use; emptied first, so the run starts as a fresh install would. */
const EXAMPLE_KBS = ['kb_123456', 'kb_vectors_example'];

/**
 * What Swagger UI's "Try it out" sends: every request-body example of /docs-json, executed
 * as it is against a freshly started service with an empty upload folder.
 */
describe('OpenAPI request examples (e2e)', () => {
  let t: TestApp;
  let uploads: string;
  let document: Json;

  const cleanExampleKbs = async () => {
    const where = { kbId: { in: EXAMPLE_KBS } };
    await t.prisma.task.deleteMany({ where });
    await t.prisma.vector.deleteMany({ where });
    await t.prisma.document.deleteMany({ where });
    await t.prisma.knowledgeBase.deleteMany({ where });
  };

  beforeAll(async () => {
    uploads = mkdtempSync(path.join(tmpdir(), 'tm-examples-'));
    t = await createTestApp({ UPLOAD_DIR: uploads });
    await cleanExampleKbs();
    document = (await request(t.http).get('/docs-json').expect(200)).body;
  });

  afterAll(async () => {
    await cleanExampleKbs();
    await t.close();
    rmSync(uploads, { recursive: true, force: true });
  });

  const operations = (): Array<{ method: string; path: string; op: Json }> =>
    Object.entries<Json>(document.paths).flatMap(([p, item]) => METHODS.filter((m) => item[m]).map((method) => ({ method, path: p, op: item[method] })));

  const settled = (id: string) =>
    waitFor(
      async () => (await request(t.http).get(`/api/v1/tasks/${id}`)).body as Json,
      (task) => ['completed', 'failed', 'cancelled'].includes(task.status),
      { timeoutMs: 45000, what: `task ${id} to finish` },
    );

  it('seeds the sample document the examples process into an empty upload folder at boot', () => {
    expect(existsSync(path.join(uploads, SAMPLE_DOCUMENT_PATH))).toBe(true);
  });

  it('runs every request-body example as it is: 2xx, and every task it creates completes', async () => {
    const executed: string[] = [];
    const created: string[] = [];
    for (const { method, path: route, op } of operations()) {
      const examples: Json = op.requestBody?.content?.['application/json']?.examples ?? {};
      if (route.includes('{')) continue; // operations on an existing resource: see the next test
      for (const [name, example] of Object.entries(examples)) {
        const res = await request(t.http)[method as 'post'](route).send(example.value);
        if (res.status < 200 || res.status > 299) throw new Error(`${method.toUpperCase()} ${route} example ${name}: ${res.status} ${JSON.stringify(res.body)}`);
        executed.push(`${method} ${route} ${name}`);
        if (route === '/api/v1/tasks') created.push(res.body.id);
        if (route === '/api/v1/tasks/batch') created.push(...res.body.tasks.map((task: Json) => task.id));
      }
    }
    // The create examples cover every task type; a doc without examples would pass vacuously.
    expect(executed).toEqual(expect.arrayContaining(['post /api/v1/tasks document_processing', 'post /api/v1/tasks health_check', 'post /api/v1/tasks/batch mixed']));
    expect(executed.filter((e) => e.startsWith('post /api/v1/tasks ')).length).toBe(6);
    for (const id of created) {
      const task = await settled(id);
      expect({ id, task_type: task.task_type, status: task.status, error_message: task.error_message }).toEqual({ id, task_type: task.task_type, status: 'completed', error_message: '' });
    }
  });

  it('path examples are format examples: an unknown id gets the documented 404 in the error shape', async () => {
    const get = document.paths['/api/v1/tasks/{task_id}'].get;
    const id = get.parameters.find((p: Json) => p.name === 'task_id').schema.example;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const res = await request(t.http).get(`/api/v1/tasks/${id}`).expect(404);
    expect(res.body).toEqual({ ...get.responses['404'].content['application/json'].examples.TASK_NOT_FOUND.value, details: { task_id: id } });
  });

  it('a task response carries exactly the fields its schema lists, and the schema requires each (a generated client sees none as optional)', async () => {
    const created = await request(t.http).post('/api/v1/tasks').send({ task_type: 'health_check', kb_id: EXAMPLE_KBS[0], payload: {} }).expect(201);
    const task = (await request(t.http).get(`/api/v1/tasks/${created.body.id}`).expect(200)).body as Json;
    const schema: Json = document.components.schemas.HealthCheckTask;
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(task).sort());
    expect([...schema.required].sort()).toEqual(Object.keys(task).sort());
    await settled(task.id);
  });

  it('documents an example for every code of every error response, each code one of the enum', () => {
    const code: Json = document.components.schemas.ErrorResponseDto.properties.code;
    const codes: string[] = document.components.schemas[String(code.allOf?.[0]?.$ref ?? code.$ref).split('/').pop()!].enum;
    expect(codes).toEqual(expect.arrayContaining(['IDEMPOTENCY_KEY_REUSED', 'METHOD_NOT_ALLOWED', 'UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE']));
    for (const { method, path: route, op } of operations()) {
      for (const [status, response] of Object.entries<Json>(op.responses)) {
        if (!/^[45]/.test(status)) continue;
        const json: Json | undefined = response.content?.['application/json'];
        // The health probes answer 503 with the health report, not an error.
        if (route.startsWith('/health')) continue;
        expect(json?.schema?.$ref).toBe('#/components/schemas/ErrorResponseDto');
        const examples: Json = json?.examples ?? {};
        const where = `${method.toUpperCase()} ${route} ${status}`;
        expect({ where, codes: Object.keys(examples) }).toEqual({ where, codes: String(response.description).split(' | ') });
        for (const example of Object.values<Json>(examples)) {
          expect(codes).toContain(example.value.code);
          expect(Object.keys(example.value)).toEqual(['error', 'message', 'code', 'details']);
        }
      }
    }
  });
});
