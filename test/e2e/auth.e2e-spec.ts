import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { AppRole } from '../../src/config/env.validation';
import { taskRequest } from '../factories/task.factory';
import { call, claims, makeKey, openStream, Reply, signJwt } from '../setup/auth-helpers';
import { createTestApp, TestApp, uniqueKb, waitFor } from '../setup/test-app';

const FAR_FUTURE = '2999-01-01T00:00:00Z';
type RouteRole = 'public' | 'read' | 'write' | 'worker' | 'admin';
type CallerRole = 'read' | 'write' | 'worker' | 'admin';

/** The documented matrix, written out here so a change to the code's grants fails this test. */
const GRANTS: Record<CallerRole, RouteRole[]> = {
  read: ['read'],
  write: ['read', 'write'],
  worker: ['read', 'worker'],
  admin: ['read', 'write', 'worker', 'admin'],
};
const CALLER_ROLES: CallerRole[] = ['read', 'write', 'worker', 'admin'];

interface RouteCase {
  /** `METHOD /path/{param}` as in the OpenAPI document (or the page's path). */
  route: string;
  role: RouteRole;
  /** A page for browsers: refusals challenge with Basic. */
  browser?: boolean;
  path: string | (() => Promise<string> | string);
  json?: () => unknown;
  /** What a caller with a sufficient role may get: never 401, 403 or 429. */
  ok: number[];
}

/**
 * Authentication, roles and tenancy on every route: a table of routes × credentials (none,
 * wrong key by either header, expired, forged and `alg: none` JWTs, then each role by
 * X-API-Key, by Bearer key and by HS256 JWT), and kb-limited callers kept inside their
 * knowledge bases. The table must cover every operation of the OpenAPI document.
 */
describe('Authentication, roles and tenancy (e2e)', () => {
  let t: TestApp;
  let base: string;
  const secret = randomBytes(36).toString('base64url');
  const kbA = uniqueKb('tenant_a');
  const kbA2 = uniqueKb('tenant_a2');
  const kbB = uniqueKb('tenant_b');
  const keys = {
    read: makeKey('reader', 'read'),
    write: makeKey('writer', 'write'),
    worker: makeKey('worker', 'worker'),
    admin: makeKey('admin', 'admin'),
    scopedWrite: makeKey('tenant-a-writer', 'write', [kbA, kbA2]),
    scopedRead: makeKey('tenant-a-reader', 'read', [kbA]),
    scopedWorker: makeKey('tenant-a-worker', 'worker', [kbA]),
    scopedAdmin: makeKey('tenant-a-admin', 'admin', [kbA]),
  };
  const asKey = (key: { key: string }) => ({ 'X-API-Key': key.key });
  const asBearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  const asBasic = (password: string) => ({
    Authorization: `Basic ${Buffer.from(`someone:${password}`).toString('base64')}`,
  });
  const jwt = (role: string, extra: Record<string, unknown> = {}) =>
    signJwt(claims(role, extra), { alg: 'HS256', secret });
  const admin = asKey(keys.admin);

  const createTask = async (kbId: string, overrides: Record<string, unknown> = {}): Promise<string> => {
    // Scheduled far ahead: a reconciler of another test run sharing the database must not run it.
    const res = await call(base, 'POST', '/api/v1/tasks', {
      headers: admin,
      json: taskRequest({ kb_id: kbId, schedule_for: FAR_FUTURE, ...overrides }),
    });
    expect(res.status).toBe(201);
    return res.body.id;
  };
  let ownTask: string;
  let foreignTask: string;
  let operationId: string;
  let foreignOperationId: string;

  const routes: RouteCase[] = [
    { route: 'GET /health', role: 'public', path: '/health', ok: [200, 503] },
    { route: 'GET /health/live', role: 'public', path: '/health/live', ok: [200] },
    { route: 'GET /health/ready', role: 'public', path: '/health/ready', ok: [200, 503] },
    { route: 'GET /metrics', role: 'read', path: '/metrics', ok: [200] },
    {
      route: 'POST /api/v1/tasks',
      role: 'write',
      path: '/api/v1/tasks',
      json: () => taskRequest({ kb_id: kbA }),
      ok: [201],
    },
    {
      route: 'POST /api/v1/tasks/batch',
      role: 'write',
      path: '/api/v1/tasks/batch',
      json: () => [taskRequest({ kb_id: kbA })],
      ok: [201],
    },
    { route: 'GET /api/v1/tasks', role: 'read', path: () => `/api/v1/tasks?kb_id=${kbA}`, ok: [200] },
    { route: 'GET /api/v1/tasks/{task_id}', role: 'read', path: () => `/api/v1/tasks/${ownTask}`, ok: [200] },
    {
      route: 'DELETE /api/v1/tasks/{task_id}',
      role: 'write',
      path: async () => `/api/v1/tasks/${await createTask(kbA)}`,
      ok: [200],
    },
    {
      route: 'POST /api/v1/tasks/{task_id}/retry',
      role: 'write',
      path: () => `/api/v1/tasks/${ownTask}/retry`,
      ok: [409],
    },
    {
      route: 'PUT /api/v1/tasks/{task_id}/progress',
      role: 'worker',
      path: () => `/api/v1/tasks/${ownTask}/progress`,
      json: () => ({ progress: 10 }),
      ok: [409],
    },
    // No EXTERNAL_TASK_TYPES here: a lease is refused (400) once the role lets it in; the calls under a lease are 409.
    {
      route: 'POST /api/v1/workers/lease',
      role: 'worker',
      path: '/api/v1/workers/lease',
      json: () => ({ worker_id: 'auth-test', task_types: ['embedding_generation'] }),
      ok: [400],
    },
    ...(
      [
        ['heartbeat', {}],
        ['complete', { result: {} }],
        ['fail', { error: 'auth test', retryable: false }],
      ] as const
    ).map(([verb, body]): RouteCase => ({
      route: `POST /api/v1/tasks/{task_id}/${verb}`,
      role: 'worker',
      path: () => `/api/v1/tasks/${ownTask}/${verb}`,
      json: () => ({ lease_token: randomUUID(), ...body }),
      ok: [409],
    })),
    { route: 'GET /api/v1/tasks/events', role: 'read', path: () => `/api/v1/tasks/events?kb_id=${kbA}`, ok: [200] },
    {
      route: 'GET /api/v1/tasks/{task_id}/events',
      role: 'read',
      path: () => `/api/v1/tasks/${ownTask}/events`,
      ok: [200],
    },
    {
      route: 'GET /api/v1/tasks/{task_id}/history',
      role: 'read',
      path: () => `/api/v1/tasks/${ownTask}/history`,
      ok: [200],
    },
    {
      route: 'POST /api/v1/tasks/bulk/cancel',
      role: 'write',
      path: '/api/v1/tasks/bulk/cancel',
      json: () => ({ kb_id: kbA2 }),
      ok: [200],
    },
    {
      route: 'POST /api/v1/tasks/bulk/retry',
      role: 'write',
      path: '/api/v1/tasks/bulk/retry',
      json: () => ({ kb_id: kbA2 }),
      ok: [200],
    },
    {
      route: 'GET /api/v1/tasks/bulk/{operation_id}',
      role: 'read',
      path: () => `/api/v1/tasks/bulk/${operationId}`,
      ok: [200],
    },
    { route: 'GET /api/v1/stats/tasks', role: 'read', path: () => `/api/v1/stats/tasks?kb_id=${kbA}`, ok: [200] },
    {
      route: 'GET /api/v1/stats/timeseries',
      role: 'read',
      path: () => `/api/v1/stats/timeseries?kb_id=${kbA}`,
      ok: [200],
    },
    { route: 'GET /api/v1/stats/system', role: 'admin', path: '/api/v1/stats/system', ok: [200] },
    { route: 'GET /api/v1/queues/info', role: 'read', path: '/api/v1/queues/info', ok: [200] },
    { route: 'GET /api/v1/queues', role: 'read', path: '/api/v1/queues', ok: [200] },
    {
      route: 'POST /api/v1/queues/{task_type}/pause',
      role: 'admin',
      path: '/api/v1/queues/knowledge_indexing/pause',
      ok: [200],
    },
    {
      route: 'POST /api/v1/queues/{task_type}/resume',
      role: 'admin',
      path: '/api/v1/queues/knowledge_indexing/resume',
      ok: [200],
    },
    { route: 'GET /api/v1/kbs/{kb_id}/documents', role: 'read', path: () => `/api/v1/kbs/${kbA}/documents`, ok: [200] },
    {
      route: 'GET /api/v1/kbs/{kb_id}/documents/{document_id}',
      role: 'read',
      path: () => `/api/v1/kbs/${kbA}/documents/${randomUUID()}`,
      ok: [404],
    },
    {
      route: 'GET /api/v1/kbs/{kb_id}/search',
      role: 'read',
      path: () => `/api/v1/kbs/${kbA}/search?q=pelican`,
      ok: [200],
    },
    { route: 'GET /dashboard', role: 'read', browser: true, path: '/dashboard', ok: [200] },
    { route: 'GET /dashboard/{file}', role: 'read', browser: true, path: '/dashboard/app.js', ok: [200] },
    { route: 'GET /admin/queues', role: 'admin', browser: true, path: '/admin/queues', ok: [200] },
    { route: 'GET /docs', role: 'read', browser: true, path: '/docs', ok: [200] },
    { route: 'GET /docs-json', role: 'read', browser: true, path: '/docs-json', ok: [200] },
  ];

  const send = async (route: RouteCase, headers: Record<string, string>): Promise<Reply> => {
    const [method] = route.route.split(' ');
    const path = typeof route.path === 'string' ? route.path : await route.path();
    return call(base, method, path, { headers, json: route.json?.() });
  };
  const expectError = (res: Reply, status: number, code: string) => {
    expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
    expect(res.body).toEqual({
      error: expect.any(String),
      message: expect.any(String),
      code,
      details: expect.any(Object),
    });
  };

  beforeAll(async () => {
    t = await createTestApp(
      {
        API_KEYS: JSON.stringify(Object.values(keys).map((k) => k.entry)),
        JWT_SECRET: secret,
        METRICS_REQUIRE_AUTH: 'true',
        DOCS_REQUIRE_AUTH: 'true',
      },
      AppRole.Api,
    );
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    ownTask = await createTask(kbA);
    foreignTask = await createTask(kbB);
    const op = await call(base, 'POST', '/api/v1/tasks/bulk/cancel', { headers: admin, json: { kb_id: kbA2 } });
    expect(op.status).toBe(200);
    operationId = op.body.id;
    const foreignOp = await call(base, 'POST', '/api/v1/tasks/bulk/retry', { headers: admin, json: { kb_id: kbB } });
    expect(foreignOp.status).toBe(200);
    foreignOperationId = foreignOp.body.id;
  });

  afterAll(async () => {
    await call(base, 'POST', '/api/v1/queues/knowledge_indexing/resume', { headers: admin }).catch(() => undefined);
    // Nothing of ours may stay queued for another test app's reconciler.
    await t.prisma.task.updateMany({
      where: { kbId: { in: [kbA, kbA2, kbB] }, status: { in: ['queued', 'processing'] } },
      data: { status: 'cancelled' },
    });
    await t.close();
  });

  it('covers every operation of the OpenAPI document, with the role the document states', async () => {
    const res = await call(base, 'GET', '/docs-json', { headers: admin });
    expect(res.status).toBe(200);
    const documented: [string, string | undefined, unknown][] = [];
    for (const [path, item] of Object.entries(res.body.paths as Record<string, Record<string, any>>)) {
      for (const [method, operation] of Object.entries(item))
        documented.push([`${method.toUpperCase()} ${path}`, operation['x-required-role'], operation.security]);
    }
    const table = new Map(routes.map((r) => [r.route, r]));
    const missing = documented.filter(([route]) => !table.has(route)).map(([route]) => route);
    expect(missing).toEqual([]);
    for (const [route, role, security] of documented) {
      const expected = table.get(route)!.role;
      if (expected === 'public') expect({ route, security }).toEqual({ route, security: [] });
      else if (route !== 'GET /metrics') expect({ route, role }).toEqual({ route, role: expected });
    }
    expect(Object.keys(res.body.components.securitySchemes).sort()).toEqual(['api-key', 'bearer']);
    expect(res.body.paths['/api/v1/tasks'].post.responses).toHaveProperty('401');
    expect(res.body.paths['/api/v1/tasks'].post.responses).toHaveProperty('429');
  });

  describe.each(routes.map((r) => [r.route, r] as const))('%s', (_name, route) => {
    if (route.role === 'public') {
      it('answers without credentials, and ignores bad ones', async () => {
        expect(route.ok).toContain((await send(route, {})).status);
        expect(route.ok).toContain((await send(route, { 'X-API-Key': 'nope' })).status);
      });
      return;
    }

    it('refuses missing, wrong, expired, forged and alg:none credentials with 401 UNAUTHORIZED', async () => {
      const forged = signJwt(claims('admin'), { alg: 'HS256', secret: randomBytes(36).toString('base64url') });
      const expired = jwt('admin', { exp: Math.floor(Date.now() / 1000) - 120 });
      const unsigned = `${signJwt(claims('admin'), { alg: 'HS256', secret }, { alg: 'none' }).split('.').slice(0, 2).join('.')}.`;
      const noneSigned = signJwt(claims('admin'), { alg: 'HS256', secret }, { alg: 'none' });
      const cases: [string, Record<string, string>][] = [
        ['no credentials', {}],
        ['wrong key in X-API-Key', { 'X-API-Key': `${keys.admin.key}x` }],
        ['wrong key as Bearer', asBearer(`${keys.admin.key}x`)],
        ['expired JWT', asBearer(expired)],
        ['JWT signed with another secret', asBearer(forged)],
        ['alg none JWT without signature', asBearer(unsigned)],
        ['alg none JWT with a signature', asBearer(noneSigned)],
        ['unknown scheme', { Authorization: `Token ${keys.admin.key}` }],
        ['both headers', { ...asKey(keys.admin), ...asBearer(keys.admin.key) }],
      ];
      for (const [label, headers] of cases) {
        const res = await send(route, headers);
        expect({ label, status: res.status }).toEqual({ label, status: 401 });
        expectError(res, 401, 'UNAUTHORIZED');
        expect(res.headers['www-authenticate']).toContain(route.browser ? 'Basic' : 'Bearer');
      }
    });

    it('lets each role in by X-API-Key, Bearer key and JWT exactly as the matrix says (403 FORBIDDEN otherwise)', async () => {
      const outcomes: string[] = [];
      for (const role of CALLER_ROLES) {
        const allowed = GRANTS[role].includes(route.role);
        const credentials: [string, Record<string, string>][] = [
          ['X-API-Key', asKey(keys[role])],
          ['Bearer key', asBearer(keys[role].key)],
          ['JWT', asBearer(jwt(role))],
          ...(route.browser ? [['Basic', asBasic(keys[role].key)] as [string, Record<string, string>]] : []),
        ];
        for (const [via, headers] of credentials) {
          const res = await send(route, headers);
          const fine = allowed ? route.ok.includes(res.status) : res.status === 403 && res.body?.code === 'FORBIDDEN';
          if (!fine)
            outcomes.push(
              `${role} via ${via}: expected ${allowed ? route.ok.join('|') : '403 FORBIDDEN'}, got ${res.status} ${res.text.slice(0, 200)}`,
            );
        }
      }
      expect(outcomes).toEqual([]);
    });
  });

  describe('tenancy: a caller limited to some knowledge bases', () => {
    const scoped = asKey(keys.scopedWrite);

    it.each([
      ["GET /tasks/{other kb's task}", 'GET', () => `/api/v1/tasks/${foreignTask}`, undefined, keys.scopedRead],
      ["DELETE /tasks/{other kb's task}", 'DELETE', () => `/api/v1/tasks/${foreignTask}`, undefined, keys.scopedWrite],
      [
        "POST /tasks/{other kb's task}/retry",
        'POST',
        () => `/api/v1/tasks/${foreignTask}/retry`,
        undefined,
        keys.scopedWrite,
      ],
      [
        "PUT /tasks/{other kb's task}/progress",
        'PUT',
        () => `/api/v1/tasks/${foreignTask}/progress`,
        { progress: 5 },
        keys.scopedWorker,
      ],
      [
        "GET /tasks/{other kb's task}/events",
        'GET',
        () => `/api/v1/tasks/${foreignTask}/events`,
        undefined,
        keys.scopedRead,
      ],
      [
        "POST /tasks/{other kb's task}/heartbeat",
        'POST',
        () => `/api/v1/tasks/${foreignTask}/heartbeat`,
        { lease_token: randomUUID() },
        keys.scopedWorker,
      ],
      [
        "GET /tasks/{other kb's task}/history",
        'GET',
        () => `/api/v1/tasks/${foreignTask}/history`,
        undefined,
        keys.scopedRead,
      ],
      ['GET /tasks/not-a-uuid', 'GET', () => `/api/v1/tasks/not-a-uuid`, undefined, keys.scopedRead],
      ['GET /tasks/{unknown uuid}', 'GET', () => `/api/v1/tasks/${randomUUID()}`, undefined, keys.scopedRead],
    ])('%s is 404 TASK_NOT_FOUND, like an unknown id', async (_label, method, toPath, json, key) => {
      const path = toPath();
      const res = await call(base, method, path, { headers: asKey(key), json });
      expectError(res, 404, 'TASK_NOT_FOUND');
      expect(res.body.details.task_id).toBe(path.split('/')[4]);
    });

    it("never changes another kb's task", async () => {
      await call(base, 'DELETE', `/api/v1/tasks/${foreignTask}`, { headers: scoped });
      await call(base, 'POST', `/api/v1/tasks/bulk/cancel`, { headers: scoped, json: { kb_id: kbB } });
      expect((await t.prisma.task.findUniqueOrThrow({ where: { id: foreignTask } })).status).toBe('queued');
    });

    it.each([
      ['GET /tasks?kb_id=other', 'GET', () => `/api/v1/tasks?kb_id=${kbB}`, undefined],
      ['GET /tasks?kb_id=own&kb_id=other', 'GET', () => `/api/v1/tasks?kb_id=${kbA}&kb_id=${kbB}`, undefined],
      ['POST /tasks in another kb', 'POST', () => '/api/v1/tasks', () => taskRequest({ kb_id: kbB })],
      [
        'POST /tasks/batch with one item in another kb',
        'POST',
        () => '/api/v1/tasks/batch',
        () => [taskRequest({ kb_id: kbA }), taskRequest({ kb_id: kbB })],
      ],
      ['POST /tasks/bulk/cancel of another kb', 'POST', () => '/api/v1/tasks/bulk/cancel', () => ({ kb_id: kbB })],
      ['POST /tasks/bulk/retry of another kb', 'POST', () => '/api/v1/tasks/bulk/retry', () => ({ kb_id: kbB })],
      ['GET /stats/tasks?kb_id=other', 'GET', () => `/api/v1/stats/tasks?kb_id=${kbB}`, undefined],
      ['GET /stats/timeseries?kb_id=other', 'GET', () => `/api/v1/stats/timeseries?kb_id=${kbB}`, undefined],
      ['GET /tasks/events?kb_id=other', 'GET', () => `/api/v1/tasks/events?kb_id=${kbB}`, undefined],
      ['GET /kbs/other/documents', 'GET', () => `/api/v1/kbs/${kbB}/documents`, undefined],
      ['GET /kbs/other/documents/{id}', 'GET', () => `/api/v1/kbs/${kbB}/documents/${randomUUID()}`, undefined],
      ['GET /kbs/other/search', 'GET', () => `/api/v1/kbs/${kbB}/search?q=pelican`, undefined],
    ])('%s is 404 NOT_FOUND and changes nothing', async (_label, method, path, json) => {
      const before = await t.prisma.task.count({ where: { kbId: kbB } });
      const res = await call(base, method, path(), { headers: scoped, json: json?.() });
      expectError(res, 404, 'NOT_FOUND');
      expect(res.body.details).toEqual({ kb_id: kbB });
      expect(await t.prisma.task.count({ where: { kbId: kbB } })).toBe(before);
    });

    it('sees only bulk operations on its own kbs', async () => {
      expect((await call(base, 'GET', `/api/v1/tasks/bulk/${operationId}`, { headers: scoped })).status).toBe(200);
      const foreign = await call(base, 'GET', `/api/v1/tasks/bulk/${foreignOperationId}`, { headers: scoped });
      expectError(foreign, 404, 'NOT_FOUND');
      expect(foreign.body.details).toEqual({ operation_id: foreignOperationId });
      expect((await call(base, 'GET', `/api/v1/tasks/bulk/${foreignOperationId}`, { headers: admin })).status).toBe(
        200,
      );
    });

    it('works inside its own kbs', async () => {
      const created = await call(base, 'POST', '/api/v1/tasks', {
        headers: scoped,
        json: taskRequest({ kb_id: kbA2 }),
      });
      expect(created.status).toBe(201);
      expect((await call(base, 'GET', `/api/v1/tasks/${ownTask}`, { headers: scoped })).status).toBe(200);
      expect((await call(base, 'GET', `/api/v1/tasks/${created.body.id}/history`, { headers: scoped })).status).toBe(
        200,
      );
      expect((await call(base, 'DELETE', `/api/v1/tasks/${created.body.id}`, { headers: scoped })).status).toBe(200);
      expect((await call(base, 'GET', `/api/v1/kbs/${kbA}/search?q=pelican`, { headers: scoped })).status).toBe(200);
    });

    it('lists, counts and streams only its own kbs when no kb_id is given', async () => {
      await createTask(kbA2);
      const list = await call(base, 'GET', '/api/v1/tasks?page_size=100', { headers: scoped });
      expect(list.status).toBe(200);
      const listed = new Set(list.body.tasks.map((task: { kb_id: string }) => task.kb_id));
      expect([...listed].sort()).toEqual([kbA, kbA2].sort());
      const inScope = await t.prisma.task.count({ where: { kbId: { in: [kbA, kbA2] } } });
      expect(list.body.pagination.total).toBe(inScope);

      const stats = await call(base, 'GET', '/api/v1/stats/tasks', { headers: scoped });
      expect(stats.body.total_tasks).toBe(inScope);
      const series = await call(base, 'GET', '/api/v1/stats/timeseries?bucket=hour&buckets=2', {
        headers: asKey(keys.scopedRead),
      });
      expect(series.status).toBe(200);

      const stream = await openStream(base, '/api/v1/tasks/events', asKey(keys.scopedRead));
      try {
        expect(stream.status).toBe(200);
        const theirs = await createTask(kbB);
        const mine = await createTask(kbA);
        await waitFor(
          async () => stream.events.map((e) => e.task_id),
          (ids) => ids.includes(mine),
          { what: 'own task event' },
        );
        expect(stream.events.map((e) => e.task_id)).not.toContain(theirs);
        expect(new Set(stream.events.map((e) => e.kb_id))).toEqual(new Set([kbA]));
      } finally {
        stream.close();
      }
    });

    it('cannot use routes that span every kb (403), even with the admin role', async () => {
      const scopedAdmin = asKey(keys.scopedAdmin);
      for (const [method, path] of [
        ['GET', '/api/v1/stats/system'],
        ['POST', '/api/v1/queues/knowledge_indexing/pause'],
        ['GET', '/metrics'],
      ]) {
        expectError(await call(base, method, path, { headers: scopedAdmin }), 403, 'FORBIDDEN');
      }
      expectError(
        await call(base, 'GET', '/admin/queues', { headers: asBasic(keys.scopedAdmin.key) }),
        403,
        'FORBIDDEN',
      );
      // …while its kb-level powers still work.
      expect((await call(base, 'GET', `/api/v1/tasks/${ownTask}`, { headers: scopedAdmin })).status).toBe(200);
    });

    it('applies to JWTs carrying kb_ids the same way', async () => {
      const token = asBearer(jwt('write', { kb_ids: [kbA] }));
      expectError(await call(base, 'GET', `/api/v1/tasks/${foreignTask}`, { headers: token }), 404, 'TASK_NOT_FOUND');
      expectError(
        await call(base, 'POST', '/api/v1/tasks', { headers: token, json: taskRequest({ kb_id: kbB }) }),
        404,
        'NOT_FOUND',
      );
      expect((await call(base, 'GET', `/api/v1/tasks/${ownTask}`, { headers: token })).status).toBe(200);
      const bad = asBearer(jwt('write', { kb_ids: [] }));
      expectError(await call(base, 'GET', `/api/v1/tasks/${ownTask}`, { headers: bad }), 401, 'UNAUTHORIZED');
      const noRole = asBearer(jwt('root'));
      expectError(await call(base, 'GET', `/api/v1/tasks/${ownTask}`, { headers: noRole }), 401, 'UNAUTHORIZED');
    });
  });

  describe('JWT claims', () => {
    it.each([
      ['not yet valid (nbf in the future)', { nbf: Math.floor(Date.now() / 1000) + 600 }, 'not valid yet'],
      ['without exp', { exp: undefined }, 'exp claim is required'],
      ['issued in the future', { iat: Math.floor(Date.now() / 1000) + 600 }, 'issued in the future'],
    ])('refuses a token %s', async (_label, extra, reason) => {
      const res = await call(base, 'GET', `/api/v1/tasks/${ownTask}`, { headers: asBearer(jwt('read', extra)) });
      expectError(res, 401, 'UNAUTHORIZED');
      expect(res.body.details.reason).toBe(reason);
    });

    it('accepts a token expired within the clock skew', async () => {
      const res = await call(base, 'GET', `/api/v1/tasks/${ownTask}`, {
        headers: asBearer(jwt('read', { exp: Math.floor(Date.now() / 1000) - 5 })),
      });
      expect(res.status).toBe(200);
    });

    it('refuses a token whose payload was changed after signing', async () => {
      const [header, , signature] = jwt('read').split('.');
      const payload = Buffer.from(JSON.stringify(claims('admin'))).toString('base64url');
      expectError(
        await call(base, 'GET', '/api/v1/stats/system', { headers: asBearer(`${header}.${payload}.${signature}`) }),
        401,
        'UNAUTHORIZED',
      );
    });
  });

  it('challenges browsers on the pages with Basic, and accepts a key as the Basic password', async () => {
    const page = await call(base, 'GET', '/admin/queues');
    expect(page.status).toBe(401);
    expect(page.headers['www-authenticate']).toMatch(/^Basic realm="task-manager"/);
    expect((await call(base, 'GET', '/admin/queues', { headers: asBasic(keys.admin.key) })).status).toBe(200);
    // The page's own API calls carry the same Basic credentials.
    expect((await call(base, 'GET', '/api/v1/queues', { headers: asBasic(keys.read.key) })).status).toBe(200);
  });

  it('sends no CORS headers when CORS_ORIGINS is not set', async () => {
    const res = await call(base, 'GET', '/health/live', { headers: { Origin: 'https://evil.example.com' } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});
