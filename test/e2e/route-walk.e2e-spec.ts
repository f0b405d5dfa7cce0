import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { AppRole } from '../../src/config/env.validation';
import { call, Reply } from '../setup/auth-helpers';
import { createTestApp, TestApp, uniqueKb } from '../setup/test-app';

interface OpenApiParameter {
  name: string;
  in: string;
  schema?: { type?: string; format?: string; pattern?: string; enum?: string[]; maxLength?: number };
}
interface OpenApiOperation {
  parameters?: OpenApiParameter[];
  requestBody?: { content?: Record<string, { schema?: { $ref?: string } }> };
}
type OpenApiPaths = Record<string, Record<string, OpenApiOperation>>;
type OpenApiSchemas = Record<string, { properties?: Record<string, { example?: unknown }> }>;

/** What a bad id looks like on the wire, each already as it is put into the URL. */
const BAD_IDS: [string, string][] = [
  ['not-a-uuid', 'not-a-uuid'],
  ['..', '..'],
  ['very long', 'x'.repeat(4000)],
  ['unicode', encodeURIComponent('ünïcødé-😀-\u202e')],
  ['NUL', '%00'],
  ['a lone surrogate (invalid UTF-8)', '%ED%A0%80'],
  ['a broken escape', '%E0%A4%A'],
  ['almost a UUID', '550e8400-e29b-41d4-a716-44665544000g'],
  ['SQL', encodeURIComponent("'; DROP TABLE tasks;--")],
];

/** Bodies of the wrong shape: wrong types, empty, arrays instead of objects, objects instead of arrays. */
const BAD_BODIES: [string, string][] = [
  ['no body', ''],
  ['an empty object', '{}'],
  ['an empty array', '[]'],
  ['an array of objects', '[{}]'],
  ['an array of scalars', '[1,"a",null]'],
  ['a number', '42'],
  ['a string', '"text"'],
  ['null', 'null'],
  [
    'wrong field types',
    '{"task_type":5,"kb_id":[],"payload":"x","priority":{},"progress":"half","status":7,"created_after":true}',
  ],
  ['wrong types in a batch', '[{"task_type":["health_check"],"kb_id":{"a":1},"payload":[]}]'],
  ['malformed JSON', '{"task_type":'],
];

/** A valid value for each path parameter, so a bad value is the only thing wrong with the request. */
function validValue(name: string, kb: string): string {
  if (name === 'kb_id') return kb;
  if (name === 'task_type') return 'health_check';
  return randomUUID();
}

function problem(method: string, url: string, body: string | undefined, res: Reply): string | null {
  const shapeOk =
    res.status < 400 ||
    !String(res.headers['content-type']).includes('application/json') ||
    (typeof res.body?.error === 'string' &&
      typeof res.body?.message === 'string' &&
      typeof res.body?.code === 'string' &&
      typeof res.body?.details === 'object');
  if (res.status < 500 && shapeOk) return null;
  return `${method} ${url.slice(0, 120)} body=${String(body).slice(0, 80)} → ${res.status} ${res.text.slice(0, 200)}`;
}

/**
 * Walks every route and method of the live OpenAPI document with bad path parameters and
 * bad bodies: nothing answers 5xx, every refusal has the documented error body, and a
 * malformed id gets the same answer as an id that does not exist.
 */
describe('Route walk from /docs-json (e2e)', () => {
  let t: TestApp;
  let base: string;
  let paths: OpenApiPaths;
  let schemas: OpenApiSchemas;
  const kb = uniqueKb('walk');

  beforeAll(async () => {
    t = await createTestApp({}, AppRole.Api);
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    const document = (await call(base, 'GET', '/docs-json')).body;
    paths = document.paths as OpenApiPaths;
    schemas = document.components.schemas as OpenApiSchemas;
  });

  afterAll(async () => {
    await t.close();
  });

  const operations = (): {
    method: string;
    path: string;
    params: OpenApiParameter[];
    example: Record<string, unknown>;
  }[] =>
    Object.entries(paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        params: (op.parameters ?? []).filter((p) => p.in === 'path'),
        example: exampleBody(op),
      })),
    );

  /** The documented example of each property of the JSON body, so a request gets past body validation to its path parameters. */
  const exampleBody = (op: OpenApiOperation): Record<string, unknown> => {
    const ref = op.requestBody?.content?.['application/json']?.schema?.$ref;
    const properties = ref ? (schemas[ref.split('/').pop()!]?.properties ?? {}) : {};
    return Object.fromEntries(
      Object.entries(properties)
        .filter(([, p]) => p.example !== undefined)
        .map(([name, p]) => [name, p.example]),
    );
  };

  const fill = (path: string, values: Record<string, string>) =>
    path.replace(/\{(\w+)\}/g, (_m, name: string) => values[name] ?? validValue(name, kb));

  it('documents every path parameter with a pattern, a format or an enum, and a maximum length', () => {
    const undocumented = operations().flatMap(({ method, path, params }) =>
      params
        .filter((p) => !(p.schema?.enum ?? ((p.schema?.pattern || p.schema?.format) && p.schema?.maxLength)))
        .map((p) => `${method} ${path} {${p.name}}`),
    );
    expect(operations().some((op) => op.params.length > 0)).toBe(true);
    expect(undocumented).toEqual([]);
  });

  it('answers bad path parameters on every route with a 4xx in the error body, never a 5xx', async () => {
    const failures: string[] = [];
    let sent = 0;
    for (const { method, path, params, example } of operations()) {
      for (const param of params) {
        for (const [label, bad] of BAD_IDS) {
          const url = fill(path, { [param.name]: bad });
          for (const json of method === 'GET' ? [undefined] : [example, {}]) {
            const res = await call(base, method, url, { json });
            sent++;
            const failure = problem(method, `${url} ({${param.name}} ${label})`, JSON.stringify(json), res);
            if (failure) failures.push(failure);
          }
        }
      }
    }
    expect(sent).toBeGreaterThan(50);
    expect(failures).toEqual([]);
  });

  it('answers bad bodies on every route with a 4xx in the error body, never a 5xx', async () => {
    const failures: string[] = [];
    for (const { method, path } of operations()) {
      if (method === 'GET') continue;
      const url = fill(path, {});
      for (const [, raw] of BAD_BODIES) {
        for (const contentType of ['application/json', 'text/plain']) {
          const res = await call(base, method, url, { headers: { 'Content-Type': contentType }, raw });
          const failure = problem(method, url, raw, res);
          if (failure) failures.push(failure);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(await t.prisma.task.count({ where: { kbId: kb } })).toBe(0);
  });

  it('answers a malformed task id like one that does not exist: 404 TASK_NOT_FOUND naming it, on every task route', async () => {
    const taskRoutes = operations().filter(({ params }) => params.some((p) => p.name === 'task_id'));
    expect(taskRoutes.length).toBeGreaterThanOrEqual(6);
    for (const { method, path, example } of taskRoutes) {
      for (const id of ['not-a-uuid', randomUUID(), 'x'.repeat(300), encodeURIComponent('ünïcødé')]) {
        const res = await call(base, method, fill(path, { task_id: id }), method === 'GET' ? {} : { json: example });
        expect({ route: `${method} ${path}`, status: res.status, body: res.body }).toEqual({
          route: `${method} ${path}`,
          status: 404,
          body: {
            error: 'Task not found',
            message: 'Task with specified ID does not exist',
            code: 'TASK_NOT_FOUND',
            details: { task_id: decodeURIComponent(id) },
          },
        });
      }
    }
  });

  it('answers other malformed ids with 404 (a document or bulk operation) or 400 naming the parameter (a kb id or queue name)', async () => {
    const doc = await call(base, 'GET', `/api/v1/kbs/${kb}/documents/not-a-uuid`);
    expect({ status: doc.status, code: doc.body.code }).toEqual({ status: 404, code: 'NOT_FOUND' });
    const bulk = await call(base, 'GET', '/api/v1/tasks/bulk/not-a-uuid');
    expect({ status: bulk.status, code: bulk.body.code }).toEqual({ status: 404, code: 'NOT_FOUND' });
    for (const [method, url, field] of [
      ['GET', `/api/v1/kbs/${'k'.repeat(200)}/documents`, 'kb_id'],
      ['GET', `/api/v1/kbs/${encodeURIComponent('bad kb!')}/search?q=x`, 'kb_id'],
      ['POST', '/api/v1/queues/no_such_type/pause', 'task_type'],
    ]) {
      const res = await call(base, method, url);
      expect({
        url,
        status: res.status,
        code: res.body.code,
        fields: Object.keys(res.body.details.fields ?? {}),
      }).toEqual({ url, status: 400, code: 'INVALID_REQUEST', fields: [field] });
    }
  });
});

/**
 * JSON that the parser accepts but later layers cannot take: keys that class-transformer or
 * plain objects treat specially, lone UTF-16 surrogates and NUL characters, which PostgreSQL
 * refuses in jsonb and text. Each is refused at the edge with the field named, before
 * anything is stored.
 */
describe('Hostile JSON values (e2e)', () => {
  let t: TestApp;
  let base: string;
  const kb = uniqueKb('hostile');

  beforeAll(async () => {
    t = await createTestApp({}, AppRole.Api);
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await t.close();
  });

  const task = (payload: string, extra = '') =>
    `{"task_type":"health_check","kb_id":"${kb}","payload":${payload}${extra}}`;

  it.each([
    [
      'a constructor key in a batch payload',
      '/api/v1/tasks/batch',
      `[${task('{"constructor":"x"}')}]`,
      '[0].payload.constructor',
    ],
    [
      'a constructor object in a batch payload',
      '/api/v1/tasks/batch',
      `[${task('{"samples":1}')},${task('{"constructor":{"prototype":{"polluted":1}}}')}]`,
      '[1].payload.constructor',
    ],
    ['a constructor key in a payload', '/api/v1/tasks', task('{"constructor":"x"}'), 'payload.constructor'],
    ['a __proto__ key in a payload', '/api/v1/tasks', task('{"__proto__":{"polluted":1}}'), 'payload.__proto__'],
    [
      'a prototype key deep in a payload',
      '/api/v1/tasks',
      task('{"note":{"list":[{"prototype":1}]}}'),
      'payload.note.list[0].prototype',
    ],
    ['a __proto__ key at the top', '/api/v1/tasks', task('{}', ',"__proto__":{"x":1}'), '__proto__'],
    ['a lone high surrogate in a payload value', '/api/v1/tasks', task('{"note":"a\\ud800b"}'), 'payload.note'],
    [
      'a lone low surrogate in a batch payload',
      '/api/v1/tasks/batch',
      `[${task('{"note":["ok","\\udc00"]}')}]`,
      '[0].payload.note[1]',
    ],
    ['a lone surrogate in a payload key', '/api/v1/tasks', task('{"k\\ud800":1}'), 'payload.k\\ud800'],
    [
      'a lone surrogate in the kb id',
      '/api/v1/tasks',
      `{"task_type":"health_check","kb_id":"\\ud800","payload":{}}`,
      'kb_id',
    ],
    ['a NUL in a payload value', '/api/v1/tasks', task('{"note":"a\\u0000b"}'), 'payload.note'],
    [
      'a NUL in a batch payload',
      '/api/v1/tasks/batch',
      `[${task('{}')},${task('{"a":{"b":"\\u0000"}}')}]`,
      '[1].payload.a.b',
    ],
    [
      'a lone surrogate in a progress message',
      '/api/v1/tasks/00000000-0000-4000-8000-000000000000/progress',
      '{"progress":5,"message":"\\ud83d"}',
      'message',
    ],
  ])('refuses %s with 400 INVALID_REQUEST naming the field, storing nothing', async (_label, path, raw, field) => {
    const method = path.endsWith('/progress') ? 'PUT' : 'POST';
    const res = await call(base, method, path, { headers: { 'Content-Type': 'application/json' }, raw });
    expect({ status: res.status, code: res.body?.code, fields: Object.keys(res.body?.details?.fields ?? {}) }).toEqual({
      status: 400,
      code: 'INVALID_REQUEST',
      fields: [field],
    });
    expect(await t.prisma.task.count({ where: { kbId: kb } })).toBe(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('keeps well-formed surrogate pairs and ordinary keys', async () => {
    const res = await call(base, 'POST', '/api/v1/tasks', {
      json: {
        task_type: 'health_check',
        kb_id: kb,
        payload: {},
        schedule_for: '2999-01-01T00:00:00Z',
        callback_secret: 'emoji 😀 ok',
      },
    });
    expect(res.status).toBe(201);
    await t.prisma.task.deleteMany({ where: { kbId: kb } });
  });
});
