import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { AppRole } from '../../src/config/env.validation';
import { call, makeKey } from '../setup/auth-helpers';
import { startService } from '../setup/processes';
import { createTestApp, TestApp, uniqueKb } from '../setup/test-app';

const CHROMIUM = '/usr/bin/chromium';
const ALLOWED_ORIGIN = 'https://app.example.com';
const MAX_DEPTH = 8;

/** `{"a":{"a":…1}}` with `depth` objects. */
const nested = (depth: number): unknown => Array.from({ length: depth }).reduce<unknown>((inner) => ({ a: inner }), 1);

/**
 * HTTP hardening: security headers (and a CSP the Swagger UI, Bull Board and the dashboard
 * still render under, checked in a real browser), CORS only for configured origins, JSON
 * depth limit, no stack traces in error bodies, and no secret in what a refused boot prints.
 */
describe('HTTP hardening (e2e)', () => {
  let t: TestApp;
  let base: string;
  const admin = makeKey('ops', 'admin');
  const kb = uniqueKb('hardening');

  beforeAll(async () => {
    t = await createTestApp(
      { API_KEYS: JSON.stringify([admin.entry]), CORS_ORIGINS: ALLOWED_ORIGIN, MAX_JSON_DEPTH: String(MAX_DEPTH) },
      AppRole.Api,
    );
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    // An API-only app runs nothing: its tasks would stay queued for the next file's workers.
    await t.prisma.task.deleteMany({ where: { kbId: kb } });
    await t.close();
  });

  it.each([
    ['an API answer', '/api/v1/queues'],
    ['an error', '/api/v1/nope'],
    ['a refusal', '/api/v1/stats/system'],
    ['the Swagger UI', '/docs'],
    ['a health probe', '/health/live'],
  ])('sends security headers on %s', async (_label, path) => {
    const res = await call(base, 'GET', path, {
      headers: path === '/api/v1/stats/system' ? {} : { 'X-API-Key': admin.key },
    });
    const csp = String(res.headers['content-security-policy']);
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "object-src 'none'",
      "frame-ancestors 'none'",
      "base-uri 'self'",
    ])
      expect(csp).toContain(directive);
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(res.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'SAMEORIGIN',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'strict-transport-security': expect.stringContaining('max-age='),
    });
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('answers CORS preflights and requests for configured origins only', async () => {
    const preflight = (origin: string) =>
      call(base, 'OPTIONS', '/api/v1/tasks', {
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type,x-api-key',
        },
      });
    const allowed = await preflight(ALLOWED_ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
    expect(String(allowed.headers['access-control-allow-headers']).toLowerCase()).toContain('x-api-key');
    expect(allowed.headers['access-control-allow-credentials']).toBeUndefined();
    expect((await preflight('https://evil.example.com')).headers['access-control-allow-origin']).toBeUndefined();
    const get = await call(base, 'GET', '/api/v1/queues', {
      headers: { Origin: ALLOWED_ORIGIN, 'X-API-Key': admin.key },
    });
    expect(get.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
    expect(String(get.headers['access-control-expose-headers'])).toContain('Retry-After');
  });

  it('refuses JSON nested deeper than MAX_JSON_DEPTH with 400, before validation', async () => {
    const body = (depth: number) => ({
      task_type: 'document_processing',
      kb_id: kb,
      payload: { file_path: 'a.txt', metadata: nested(depth - 2) },
    });
    const ok = await call(base, 'POST', '/api/v1/tasks', {
      headers: { 'X-API-Key': admin.key },
      json: body(MAX_DEPTH),
    });
    expect(ok.status).toBe(201);
    await t.prisma.task.update({ where: { id: ok.body.id }, data: { status: 'cancelled' } });
    const deep = await call(base, 'POST', '/api/v1/tasks', {
      headers: { 'X-API-Key': admin.key },
      json: body(MAX_DEPTH + 1),
    });
    expect(deep.status).toBe(400);
    expect(deep.body).toEqual({
      error: 'Invalid request',
      message: `The request body nests deeper than ${MAX_DEPTH} levels`,
      code: 'INVALID_REQUEST',
      details: { max_depth: MAX_DEPTH },
    });
    // Far past any stack: still a quick 400, and the process lives on.
    const abyss = await call(base, 'POST', '/api/v1/tasks', {
      headers: { 'X-API-Key': admin.key, 'Content-Type': 'application/json' },
      raw: `{"task_type":"health_check","kb_id":"${kb}","payload":{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`,
    });
    expect(abyss.status).toBe(400);
    expect((await call(base, 'GET', '/health/live')).status).toBe(200);
  });

  it('refuses NUL characters in the URL or the body with 400 (PostgreSQL cannot store them)', async () => {
    const headers = { 'X-API-Key': admin.key };
    const answers = await Promise.all([
      call(base, 'GET', `/api/v1/tasks?error_contains=${encodeURIComponent('\u0000')}`, { headers }),
      call(base, 'GET', '/api/v1/kbs/kb%00x/documents', { headers }),
      call(base, 'POST', '/api/v1/tasks', {
        headers,
        json: { task_type: 'health_check', kb_id: kb, payload: {}, callback_secret: 'a\u0000b' },
      }),
      call(base, 'POST', '/api/v1/tasks', {
        headers,
        json: {
          task_type: 'document_processing',
          kb_id: kb,
          payload: { file_path: 'a.txt', metadata: { 'k\u0000': 1 } },
        },
      }),
    ]);
    for (const res of answers)
      expect({ status: res.status, code: res.body.code, reason: res.body.details.reason }).toEqual({
        status: 400,
        code: 'INVALID_REQUEST',
        reason: 'nul_character',
      });
  });

  it('refuses the reserved key names in a query string as in a body, naming the key', async () => {
    const headers = { 'X-API-Key': admin.key };
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      for (const path of [`/api/v1/tasks?${key}=1`, `/api/v1/stats/tasks?kb_id=${kb}&${key}=x`]) {
        const res = await call(base, 'GET', path, { headers });
        expect({
          path,
          status: res.status,
          code: res.body.code,
          reason: res.body.details?.reason,
          fields: res.body.details?.fields,
        }).toEqual({
          path,
          status: 400,
          code: 'INVALID_REQUEST',
          reason: 'reserved_key',
          fields: { [key]: [expect.stringContaining('reserved key name')] },
        });
      }
    }
  });

  it('refuses fields named after inherited object members (toString, valueOf, …) like any unknown field, but keeps them inside payload', async () => {
    const headers = { 'X-API-Key': admin.key, 'Content-Type': 'application/json' };
    const task = { task_type: 'health_check', kb_id: kb, payload: { checks: ['database'] } };
    const answers = {
      body: await call(base, 'POST', '/api/v1/tasks', { headers, raw: JSON.stringify({ ...task, toString: 'x' }) }),
      batchItem: await call(base, 'POST', '/api/v1/tasks/batch', {
        headers,
        raw: JSON.stringify([task, { ...task, valueOf: 1 }]),
      }),
      query: await call(base, 'GET', `/api/v1/tasks?kb_id=${kb}&hasOwnProperty=1`, { headers }),
    };
    expect(
      Object.fromEntries(
        Object.entries(answers).map(([where, res]) => [
          where,
          { status: res.status, fields: res.body.details?.fields },
        ]),
      ),
    ).toEqual({
      body: { status: 400, fields: { toString: ['property toString should not exist'] } },
      batchItem: { status: 400, fields: { '[1].valueOf': ['property valueOf should not exist'] } },
      query: { status: 400, fields: { hasOwnProperty: ['property hasOwnProperty should not exist'] } },
    });
    const kept = await call(base, 'POST', '/api/v1/tasks', {
      headers,
      raw: JSON.stringify({ ...task, payload: { checks: ['database'], toString: 'mine' } }),
    });
    expect({ status: kept.status, payload: kept.body.payload }).toEqual({
      status: 201,
      payload: { checks: ['database'], toString: 'mine' },
    });
  });

  it('never shows a stack trace, a file path or SQL in an error body', async () => {
    const headers = { 'X-API-Key': admin.key };
    const answers = await Promise.all([
      call(base, 'POST', '/api/v1/tasks', {
        headers: { ...headers, 'Content-Type': 'application/json' },
        raw: '{"task_type": ',
      }),
      call(base, 'POST', '/api/v1/tasks', {
        headers: { ...headers, 'Content-Type': 'application/json' },
        raw: 'x'.repeat(2 * 1024 * 1024),
      }),
      call(base, 'GET', `/api/v1/tasks?error_contains=${encodeURIComponent('\u0000')}`, { headers }),
      call(base, 'GET', '/api/v1/tasks?page=99999999999999999999', { headers }),
      call(base, 'GET', `/api/v1/tasks/%27%3B%20DROP%20TABLE%20tasks%3B--`, { headers }),
      call(base, 'PUT', '/api/v1/tasks/00000000-0000-4000-8000-000000000000/progress', {
        headers,
        json: { progress: 1e308 },
      }),
    ]);
    for (const res of answers) {
      expect(res.status).toBeLessThan(500);
      expect(res.body).toEqual({
        error: expect.any(String),
        message: expect.any(String),
        code: expect.any(String),
        details: expect.any(Object),
      });
      expect(res.text).not.toMatch(/\n\s+at |node_modules|\/src\/|\.ts:\d+|SELECT |INSERT |prisma/i);
    }
  });

  (existsSync(CHROMIUM) ? it : it.skip)(
    'renders the Swagger UI, Bull Board and the dashboard under the CSP without violations',
    async () => {
      const profile = mkdtempSync(join(tmpdir(), 'tm-csp-'));
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
        httpCredentials: { username: 'ops', password: admin.key },
      });
      try {
        const page = await context.newPage();
        const violations: string[] = [];
        page.on(
          'console',
          (message) => /Content Security Policy|Refused to/i.test(message.text()) && violations.push(message.text()),
        );
        page.on('pageerror', (error) => violations.push(`page error: ${error.message}`));

        await page.goto(`${base}/docs`);
        await page.waitForSelector('.swagger-ui .info .title', { timeout: 15000 });
        await page.waitForSelector('.swagger-ui .btn.authorize', { timeout: 15000 });

        await page.goto(`${base}/admin/queues`);
        await page.waitForFunction(
          () =>
            !document.body.textContent?.includes('Loading') &&
            (document.querySelector('#root')?.children.length ?? 0) > 0,
          undefined,
          { timeout: 15000 },
        );
        expect(await page.textContent('body')).toContain('health_check');

        await page.goto(`${base}/dashboard`);
        await page.waitForSelector('#queue-table tbody tr', { timeout: 15000 });

        // Bull Board asks Google for a font; that (and only that) is refused by design.
        expect(violations.filter((v) => !v.includes('fonts.googleapis.com'))).toEqual([]);
      } finally {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      }
    },
  );

  it('stops a boot with a bad API_KEYS or JWT_SECRET, naming the variable but never printing the secret', async () => {
    const badKeys = startService('api', {
      API_KEYS: '[{"name":"svc","sha256":"tm_plaintext_key_123","role":"write"}]',
    });
    await expect(badKeys).rejects.toThrow(/API_KEYS=<redacted>: API_KEYS: entry 1 \(svc\): sha256 must be/);
    await expect(badKeys).rejects.not.toThrow(/tm_plaintext_key_123/);
    const badSecret = startService('api', {
      JWT_SECRET: 'short-jwt-secret-42',
      REDIS_URL: 'http://:redispassword99@cache:6379',
    });
    await expect(badSecret).rejects.toThrow(
      /JWT_SECRET: HS256 needs a secret of at least 32[\s\S]*REDIS_URL|REDIS_URL[\s\S]*JWT_SECRET: HS256/,
    );
    await expect(badSecret).rejects.not.toThrow(/short-jwt-secret-42|redispassword99/);
  });
});
