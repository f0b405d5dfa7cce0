import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import {
  EXAMPLE_BULK_OPERATION_ID,
  EXAMPLE_DOCUMENT_ID,
  EXAMPLE_TASK_ID,
} from '../../src/common/decorators/path-param.decorator';
import { SAMPLE_DOCUMENT_PATH } from '../../src/kbs/sample-document.service';
import { ApiExamplesService, EXAMPLE_DOCUMENT_TASK_ID } from '../../src/tasks/api-examples.service';
import { createTestApp, TestApp, waitFor } from '../setup/test-app';
import { TEST_DATABASE_URL } from '../setup/test-env';

type Json = Record<string, any>;

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
/** The kbs the documented examples use; emptied first, so the run starts as a fresh install would. */
const EXAMPLE_KBS = ['kb_123456', 'kb_vectors_example'];

/**
 * What an operation of a path-parameter route answers for its examples, as docs/api-decisions.md
 * explains: reads of the example resources succeed; a state change the example task (completed)
 * does not allow gets its documented 409, so "Try it out" never changes the example; the queue
 * examples pause and resume the health_check queue. A new route must be added here.
 */
const PATH_EXAMPLE_OUTCOMES: Record<string, { status: number; code?: string }> = {
  'post /api/v1/queues/{task_type}/pause': { status: 200 },
  'post /api/v1/queues/{task_type}/resume': { status: 200 },
  'get /api/v1/tasks/{task_id}/events': { status: 200 },
  'get /api/v1/tasks/{task_id}/history': { status: 200 },
  'get /api/v1/tasks/bulk/{operation_id}': { status: 200 },
  'get /api/v1/tasks/{task_id}': { status: 200 },
  'delete /api/v1/tasks/{task_id}': { status: 409, code: 'TASK_NOT_CANCELABLE' },
  'post /api/v1/tasks/{task_id}/retry': { status: 409, code: 'TASK_NOT_RETRYABLE' },
  'put /api/v1/tasks/{task_id}/progress': { status: 409, code: 'TASK_NOT_PROCESSING' },
  'post /api/v1/tasks/{task_id}/heartbeat': { status: 409, code: 'TASK_NOT_PROCESSING' },
  'post /api/v1/tasks/{task_id}/complete': { status: 409, code: 'TASK_NOT_PROCESSING' },
  'post /api/v1/tasks/{task_id}/fail': { status: 409, code: 'TASK_NOT_PROCESSING' },
  'get /api/v1/kbs/{kb_id}/documents': { status: 200 },
  'get /api/v1/kbs/{kb_id}/documents/{document_id}': { status: 200 },
  'get /api/v1/kbs/{kb_id}/search': { status: 200 },
};

/** Emptied before the app starts, as on a fresh install (the example tasks live in kb_123456). */
async function emptyExampleKbs(): Promise<void> {
  const db = new Client({ connectionString: TEST_DATABASE_URL });
  await db.connect();
  try {
    for (const table of ['tasks', 'vectors', 'documents', 'knowledge_bases']) {
      await db.query(`DELETE FROM ${table} WHERE kb_id = ANY($1)`, [EXAMPLE_KBS]);
    }
  } finally {
    await db.end();
  }
}

/**
 * What Swagger UI's "Try it out" sends: every request-body and path-parameter example of
 * /docs-json, executed as it is against a freshly started service with an empty upload folder
 * and empty example kbs.
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
    await emptyExampleKbs();
    t = await createTestApp({ UPLOAD_DIR: uploads, SWAGGER_EXAMPLE_TASK: 'true' });
    document = (await request(t.http).get('/docs-json').expect(200)).body;
    // The example tasks are stored in the background at boot; the request examples below touch the same document.
    for (const id of [EXAMPLE_TASK_ID, EXAMPLE_DOCUMENT_TASK_ID]) {
      await waitFor(
        async () => (await request(t.http).get(`/api/v1/tasks/${id}`)).body as Json,
        (task) => task.status === 'completed',
        { timeoutMs: 45000, what: `example task ${id} to complete` },
      );
    }
  });

  afterAll(async () => {
    await cleanExampleKbs();
    await t.close();
    rmSync(uploads, { recursive: true, force: true });
  });

  const operations = (): { method: string; path: string; op: Json }[] =>
    Object.entries<Json>(document.paths).flatMap(([p, item]) =>
      METHODS.filter((m) => item[m]).map((method) => ({ method, path: p, op: item[method] })),
    );

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
        if (res.status < 200 || res.status > 299)
          throw new Error(
            `${method.toUpperCase()} ${route} example ${name}: ${res.status} ${JSON.stringify(res.body)}`,
          );
        executed.push(`${method} ${route} ${name}`);
        if (route === '/api/v1/tasks') created.push(res.body.id);
        if (route === '/api/v1/tasks/batch') created.push(...res.body.tasks.map((task: Json) => task.id));
      }
    }
    // The create examples cover every task type; a doc without examples would pass vacuously.
    expect(executed).toEqual(
      expect.arrayContaining([
        'post /api/v1/tasks document_processing',
        'post /api/v1/tasks health_check',
        'post /api/v1/tasks/batch mixed',
      ]),
    );
    expect(executed.filter((e) => e.startsWith('post /api/v1/tasks ')).length).toBe(6);
    for (const id of created) {
      const task = await settled(id);
      expect({ id, task_type: task.task_type, status: task.status, error_message: task.error_message }).toEqual({
        id,
        task_type: task.task_type,
        status: 'completed',
        error_message: '',
      });
    }
  });

  /** The request Swagger UI pre-fills: every parameter with an example (a required enum without one: its first value), and the body example. */
  const prefilled = (route: string, op: Json) => {
    const query: Record<string, string> = {};
    let url = route;
    for (const param of (op.parameters ?? []) as Json[]) {
      const value = param.example ?? param.schema?.example ?? (param.required ? param.schema?.enum?.[0] : undefined);
      if (param.in === 'path') url = url.replace(`{${param.name}}`, encodeURIComponent(String(value)));
      if (param.in === 'query' && value !== undefined) query[param.name] = String(value);
    }
    const content: Json | undefined = op.requestBody?.content?.['application/json'];
    const body = content?.examples
      ? Object.values<Json>(content.examples)[0].value
      : content
        ? schemaExample(content.schema)
        : undefined;
    return { url, query, body };
  };

  const schemaExample = (schema: Json): Json => {
    const resolved: Json = schema.$ref ? document.components.schemas[String(schema.$ref).split('/').pop()!] : schema;
    const properties = Object.entries<Json>(resolved.properties ?? {});
    return Object.fromEntries(
      properties.flatMap(([name, property]) => (property.example === undefined ? [] : [[name, property.example]])),
    );
  };

  it('runs every path-parameter example as it is: reads answer 2xx, state changes their documented answer, never 5xx', async () => {
    const routes = operations().filter(({ path: route }) => route.includes('{'));
    expect(routes.map(({ method, path: route }) => `${method} ${route}`).sort()).toEqual(
      Object.keys(PATH_EXAMPLE_OUTCOMES).sort(),
    );
    for (const { method, path: route, op } of routes) {
      const { url, query, body } = prefilled(route, op);
      expect(url).not.toContain('{');
      const res = await request(t.http)[method as 'get'](url).query(query).send(body);
      const where = `${method.toUpperCase()} ${url}`;
      const expected = PATH_EXAMPLE_OUTCOMES[`${method} ${route}`];
      expect({ where, status: res.status, code: res.body?.code }).toEqual({
        where,
        status: expected.status,
        code: expected.code,
      });
      expect(Object.keys(op.responses)).toContain(String(res.status));
      // An error answer is the very example the docs show for its code.
      if (expected.code)
        expect(res.body).toEqual(
          op.responses[String(res.status)].content['application/json'].examples[expected.code].value,
        );
    }
    const task = (await request(t.http).get(`/api/v1/tasks/${EXAMPLE_TASK_ID}`).expect(200)).body as Json;
    // The state changes above left the example task as it was.
    expect({
      status: task.status,
      retry_count: task.retry_count,
      task_type: task.task_type,
      kb_id: task.kb_id,
    }).toEqual({
      status: 'completed',
      retry_count: 0,
      task_type: 'health_check',
      kb_id: EXAMPLE_KBS[0],
    });
  });

  it('the example document, bulk operation and task are real: processed from the sample, a finished operation, a task with its history', async () => {
    const doc = (
      await request(t.http).get(`/api/v1/kbs/${EXAMPLE_KBS[0]}/documents/${EXAMPLE_DOCUMENT_ID}`).expect(200)
    ).body as Json;
    expect({ file_path: doc.file_path, chunks: doc.chunks.length > 0 }).toEqual({
      file_path: SAMPLE_DOCUMENT_PATH,
      chunks: true,
    });
    const operation = (await request(t.http).get(`/api/v1/tasks/bulk/${EXAMPLE_BULK_OPERATION_ID}`).expect(200))
      .body as Json;
    expect(operation).toMatchObject({ id: EXAMPLE_BULK_OPERATION_ID, status: 'completed', matched: 0, affected: 0 });
    const history = (await request(t.http).get(`/api/v1/tasks/${EXAMPLE_TASK_ID}/history`).expect(200)).body as Json;
    expect(JSON.stringify(history)).toContain('completed');
  });

  it('keeps one of each example across restarts and API processes: ensuring them again changes nothing', async () => {
    const read = async () => [
      (await request(t.http).get(`/api/v1/tasks/${EXAMPLE_TASK_ID}`).expect(200)).body as Json,
      (await request(t.http).get(`/api/v1/tasks/${EXAMPLE_DOCUMENT_TASK_ID}`).expect(200)).body as Json,
      (await request(t.http).get(`/api/v1/tasks/bulk/${EXAMPLE_BULK_OPERATION_ID}`).expect(200)).body as Json,
    ];
    const before = await read();
    // What another API process, or this one restarted, does at its start.
    await Promise.all([t.app.get(ApiExamplesService).ensure(), t.app.get(ApiExamplesService).ensure()]);
    expect(await read()).toEqual(before);
  });

  it('the 404 example is executable too: its task id names no task', async () => {
    const get = document.paths['/api/v1/tasks/{task_id}'].get;
    const example: Json = get.responses['404'].content['application/json'].examples.TASK_NOT_FOUND.value;
    expect(example.details.task_id).not.toBe(EXAMPLE_TASK_ID);
    const res = await request(t.http).get(`/api/v1/tasks/${example.details.task_id}`).expect(404);
    expect(res.body).toEqual(example);
  });

  it('a task response carries exactly the fields its schema lists, and the schema requires each (a generated client sees none as optional)', async () => {
    const created = await request(t.http)
      .post('/api/v1/tasks')
      .send({ task_type: 'health_check', kb_id: EXAMPLE_KBS[0], payload: {} })
      .expect(201);
    const task = (await request(t.http).get(`/api/v1/tasks/${created.body.id}`).expect(200)).body as Json;
    const schema: Json = document.components.schemas.HealthCheckTask;
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(task).sort());
    expect([...schema.required].sort()).toEqual(Object.keys(task).sort());
    await settled(task.id);
  });

  it('documents an example for every code of every error response, each code one of the enum', () => {
    const code: Json = document.components.schemas.ErrorResponseDto.properties.code;
    const codes: string[] =
      document.components.schemas[
        String(code.allOf?.[0]?.$ref ?? code.$ref)
          .split('/')
          .pop()!
      ].enum;
    expect(codes).toEqual(
      expect.arrayContaining([
        'IDEMPOTENCY_KEY_REUSED',
        'METHOD_NOT_ALLOWED',
        'UNSUPPORTED_MEDIA_TYPE',
        'PAYLOAD_TOO_LARGE',
      ]),
    );
    for (const { method, path: route, op } of operations()) {
      for (const [status, response] of Object.entries<Json>(op.responses)) {
        if (!/^[45]/.test(status)) continue;
        const json: Json | undefined = response.content?.['application/json'];
        // The health probes answer 503 with the health report, not an error.
        if (route.startsWith('/health')) continue;
        expect(json?.schema?.$ref).toBe('#/components/schemas/ErrorResponseDto');
        const examples: Json = json?.examples ?? {};
        const where = `${method.toUpperCase()} ${route} ${status}`;
        expect({ where, codes: Object.keys(examples) }).toEqual({
          where,
          codes: String(response.description).split(' | '),
        });
        for (const example of Object.values<Json>(examples)) {
          expect(codes).toContain(example.value.code);
          expect(Object.keys(example.value)).toEqual(['error', 'message', 'code', 'details']);
        }
      }
    }
  });
});
