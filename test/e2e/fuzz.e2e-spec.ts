import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { AppRole } from '../../src/config/env.validation';
import { call, makeKey, Reply } from '../setup/auth-helpers';
import { createTestApp, TestApp, uniqueKb } from '../setup/test-app';

/** Reproduce a failure with FUZZ_SEED=<seed printed in the summary>. */
const SEED = Number(process.env.FUZZ_SEED ?? 20261129);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 3000);
const CONCURRENCY = 16;
/** The run stops at REQUESTS or after this long, whichever comes first (a loaded machine sends fewer). */
const BUDGET_MS = 25_000;
const MIN_REQUESTS = 1000;

/** mulberry32: small, fast, and the same sequence for the same seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    pick: <T>(items: readonly T[]): T => items[int(items.length)],
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof prng>;

const FIELD_NAMES = [
  'task_type',
  'kb_id',
  'priority',
  'payload',
  'max_retries',
  'timeout',
  'schedule_for',
  'callback_url',
  'callback_secret',
  'progress',
  'message',
  'status',
  'created_after',
  'created_before',
  'file_path',
  'chunk_size',
  'chunk_overlap',
  'pipeline',
  'items',
  'file_paths',
  'vectors',
  'values',
  'document_id',
  'chunk_ids',
  'checks',
  'samples',
  'interval_ms',
  'metadata',
  'model',
  'batch_size',
  'id',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '',
  ' ',
  'a.b',
  '$where',
  '\u202e',
  '😀',
  'k\ud800',
  '\udc00',
  'k\u0000',
];
const QUERY_NAMES = [
  'kb_id',
  'status',
  'task_type',
  'priority',
  'page',
  'page_size',
  'sort_by',
  'sort_order',
  'created_after',
  'created_before',
  'completed_after',
  'completed_before',
  'parent_id',
  'document_id',
  'error_contains',
  'q',
  'mode',
  'limit',
  'bucket',
  'buckets',
  '__proto__',
  'constructor',
  '__proto__[polluted]',
  'constructor[prototype][polluted]',
  'a[b][c]',
  'kb_id[]',
  '',
];
const STRINGS = [
  '',
  ' ',
  'a',
  '0',
  '-1',
  '1.5',
  '1e309',
  '-0',
  'NaN',
  'Infinity',
  'true',
  'null',
  '[]',
  '{}',
  'health_check',
  'document_processing',
  'batch_processing',
  'queued',
  'failed',
  'high',
  'critical',
  'created_at',
  'asc',
  'hybrid',
  'vector',
  'minute',
  'day',
  '2025-07-28T14:30:00Z',
  '2025-13-45T99:99:99Z',
  '9999-12-31T23:59:59Z',
  '../../etc/passwd',
  '/etc/passwd',
  'report.pdf',
  'a.txt',
  'http://127.0.0.1:1/hook',
  'javascript:alert(1)',
  "'; DROP TABLE tasks;--",
  '%',
  '%zz',
  '\\',
  '"',
  '<script>alert(1)</script>',
  'ünïcødé',
  '😀👍🏽',
  '\u202eevil',
  '\ud800',
  '\udc00x',
  'x\ud83d',
  '\ufeff',
  '\u0007',
  '\u0000',
  'kb\u0000x',
  'ä'.repeat(3000),
  'x'.repeat(10_000),
  '9'.repeat(400),
  '00000000-0000-4000-8000-000000000000',
];
const NUMBER_LITERALS = [
  '1e400',
  '-1e400',
  '123456789012345678901234567890',
  '0.0000000000000000000000000001',
  '-0',
  '1E+2',
  '4.9e-324',
  '9007199254740993',
];
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=bogus',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  'application/xml',
  'application/merge-patch+json',
  '',
];

/** An object whose keys may be __proto__ & co. as own properties, as JSON.parse would make them. */
function own(entries: [string, unknown][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of entries)
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

function randomJson(r: Rng, depth: number): unknown {
  const kind = depth <= 0 ? r.int(4) : r.int(7);
  switch (kind) {
    case 0:
      return r.pick([null, true, false]);
    case 1:
      return r.pick([
        0,
        -1,
        1,
        3,
        50,
        100,
        101,
        2 ** 31,
        2 ** 53 + 2,
        -(2 ** 63),
        1e308,
        -1e-308,
        0.5,
        Number.MAX_SAFE_INTEGER,
      ]);
    case 2:
      return r.chance(0.1) ? '__NUM__' : r.pick(STRINGS);
    case 3:
      return r.pick([[], {}, '']);
    case 4:
    case 5:
      return own(
        Array.from({ length: r.int(6) }, () => [
          r.chance(0.8) ? r.pick(FIELD_NAMES) : r.pick(STRINGS).slice(0, 40),
          randomJson(r, depth - 1),
        ]),
      );
    default:
      return Array.from({ length: r.int(5) }, () => randomJson(r, depth - 1));
  }
}

/** A nearly valid body for the route, then broken in one to three places. */
function mutatedBody(r: Rng, route: string, kbs: string[]): unknown {
  const task = () => ({
    task_type: r.pick([
      'health_check',
      'document_processing',
      'batch_processing',
      'vector_storage',
      'embedding_generation',
      'knowledge_indexing',
    ]),
    kb_id: r.pick(kbs),
    priority: 'low',
    payload: {},
    schedule_for: '2999-01-01T00:00:00Z',
  });
  const valid: Record<string, unknown> = route.endsWith('/progress')
    ? { progress: 50, message: 'fuzz' }
    : route.includes('/bulk/')
      ? { kb_id: r.pick(kbs), status: 'queued' }
      : task();
  if (route.endsWith('/batch'))
    return Array.from({ length: 1 + r.int(3) }, () => (r.chance(0.7) ? valid : randomJson(r, 3)));
  const body = own(Object.entries(valid));
  for (let i = 0, n = 1 + r.int(3); i < n; i++) {
    const field = r.pick([...Object.keys(valid), ...FIELD_NAMES]);
    if (r.chance(0.2)) Reflect.deleteProperty(body, field);
    else
      Object.defineProperty(body, field, {
        value:
          field === 'payload' && r.chance(0.5)
            ? own([[r.pick(FIELD_NAMES), randomJson(r, 4)]])
            : randomJson(r, r.int(3) === 0 ? 40 : 3),
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return body;
}

function randomString(r: Rng, max: number): string {
  if (r.chance(0.6)) return r.pick(STRINGS).slice(0, max);
  return Array.from({ length: r.int(max) }, () =>
    String.fromCodePoint(r.chance(0.8) ? 32 + r.int(95) : r.int(0x10ffff) & 0xd7ff),
  ).join('');
}

function encodeLoosely(r: Rng, value: string): string {
  if (r.chance(0.1)) return r.pick(['%', '%E0%A4%A', '%ff%fe', '%2e%2e%2f', '..', '%25', '%0a%0d']);
  // Lone surrogates cannot be percent-encoded; they travel as U+FFFD.
  return encodeURIComponent(value.replace(/[\ud800-\udfff]/g, (c, i: number) => (isPaired(value, i) ? c : '\ufffd')));
}

function isPaired(text: string, i: number): boolean {
  const code = text.charCodeAt(i);
  return code < 0xdc00 ? (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 : (text.charCodeAt(i - 1) & 0xfc00) === 0xd800;
}

/**
 * JSON the parser accepts but storage or class-transformer cannot take, as raw JSON text
 * (a lone surrogate or 1e400 cannot survive JSON.stringify): each class must be refused
 * with 400 naming the exact field, wherever it sits.
 */
const HOSTILE_VALUES: [string, string][] = [
  ['lone high surrogate', '"a\\ud800"'],
  ['lone low surrogate', '"\\udc00b"'],
  ['reversed pair', '"\\ude00\\ud83d"'],
  ['NUL', '"x\\u0000y"'],
  ['only NUL', '"\\u0000"'],
  ['huge number', '1e400'],
  ['huge negative number', '-1e400'],
];
const HOSTILE_KEYS: [string, string, string][] = [
  // [label, the key as JSON text, how the error names it]
  ['__proto__ key', '"__proto__"', '__proto__'],
  ['constructor key', '"constructor"', 'constructor'],
  ['prototype key', '"prototype"', 'prototype'],
  ['key with a lone surrogate', '"k\\ud800"', 'k\\ud800'],
  ['key with NUL', '"k\\u0000"', 'k\\u0000'],
];

/** A valid task whose payload holds the hostile fragment at a random place; returns the JSON text and the field path. */
function hostileTask(r: Rng, kb: string, prefix: string): { json: string; path: string } {
  const holders: [string, (inner: string) => string][] = [
    ['payload.note', (inner) => `{"note":${inner}}`],
    ['payload.list[2]', (inner) => `{"list":[1,"ok",${inner}]}`],
    ['payload.meta.deep.x', (inner) => `{"meta":{"deep":{"x":${inner}}}}`],
    ['payload.rows[0].v', (inner) => `{"rows":[{"v":${inner}}]}`],
  ];
  const [at, wrap] = r.pick(holders);
  const task = (payload: string) =>
    `{"task_type":"health_check","kb_id":"${kb}","schedule_for":"2999-01-01T00:00:00Z","payload":${payload}}`;
  if (r.chance(0.6)) {
    const [, value] = r.pick(HOSTILE_VALUES);
    return { json: task(wrap(value)), path: `${prefix}${at}` };
  }
  const [, key, shown] = r.pick(HOSTILE_KEYS);
  const object = r.chance(0.5) ? '{"polluted":1}' : '"x"';
  return { json: task(wrap(`{${key}:${object}}`)), path: `${prefix}${at}.${shown}` };
}

describe('Fuzzing every route (e2e)', () => {
  let t: TestApp;
  let base: string;
  const kbs = [uniqueKb('fuzz'), uniqueKb('fuzz')];
  const writer = makeKey('fuzz-writer', 'write', kbs);
  const reader = makeKey('fuzz-admin-reader', 'admin');
  const taskIds: string[] = [];

  beforeAll(async () => {
    t = await createTestApp({ API_KEYS: JSON.stringify([writer.entry, reader.entry]) }, AppRole.Api);
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    for (const kb of kbs) {
      const res = await call(base, 'POST', '/api/v1/tasks', {
        headers: { 'X-API-Key': writer.key },
        json: { task_type: 'health_check', kb_id: kb, payload: {}, schedule_for: '2999-01-01T00:00:00Z' },
      });
      taskIds.push(res.body.id);
    }
  });

  afterAll(async () => {
    await t.prisma.task.updateMany({
      where: { kbId: { in: kbs }, status: { in: ['queued', 'processing'] } },
      data: { status: 'cancelled' },
    });
    await t.close();
  });

  it(`answers ${REQUESTS} random and malformed requests without a 5xx, a crash or prototype pollution`, async () => {
    const document = await call(base, 'GET', '/docs-json', { headers: { 'X-API-Key': reader.key } });
    const routes: [string, string][] = [
      ['GET', '/dashboard'],
      ['GET', '/dashboard/{file}'],
      ['GET', '/admin/queues'],
      ['GET', '/docs-json'],
      ['PATCH', '/api/v1/tasks'],
      ['GET', '/api/v1/nowhere/{x}'],
    ];
    for (const [path, item] of Object.entries(document.body.paths as Record<string, object>))
      for (const method of Object.keys(item)) routes.push([method.toUpperCase(), path]);
    const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();

    const r = prng(SEED);
    const counts = new Map<string, number>();
    const failures: string[] = [];
    const slowest: [number, string][] = [];
    const started = Date.now();
    let sent = 0;

    const one = async (): Promise<void> => {
      const [method, template] = r.pick(routes);
      const path = template.replace(/\{(\w+)\}/g, (_m, name: string) => {
        if (name === 'task_id')
          return r.chance(0.5) ? r.pick(taskIds) : r.chance(0.5) ? randomUUID() : encodeLoosely(r, randomString(r, 60));
        if (name === 'kb_id') return r.chance(0.6) ? r.pick(kbs) : encodeLoosely(r, randomString(r, 150));
        if (name === 'task_type') return r.chance(0.5) ? 'health_check' : encodeLoosely(r, randomString(r, 30));
        if (name === 'file')
          return r.chance(0.5) ? r.pick(['app.js', 'index.html', 'app.css']) : encodeLoosely(r, randomString(r, 40));
        return r.chance(0.3) ? randomUUID() : encodeLoosely(r, randomString(r, 60));
      });
      const query = Array.from(
        { length: r.int(4) },
        () =>
          `${encodeLoosely(r, r.pick(QUERY_NAMES))}=${encodeLoosely(r, r.chance(0.3) ? r.pick(kbs) : randomString(r, 80))}`,
      ).join('&');
      const url = query ? `${path}?${query}` : path;

      // Mutations only with the kb-limited key (they stay in the fuzz kbs); the global key only reads.
      const headers: Record<string, string> = {};
      const auth = r.int(10);
      if (auth < 6 && method !== 'GET') headers['X-API-Key'] = writer.key;
      else if (auth < 6) headers['X-API-Key'] = r.chance(0.5) ? reader.key : writer.key;
      else if (auth === 6)
        headers.Authorization = `Bearer ${r.chance(0.5) ? `eyJ${randomString(r, 40).replace(/[^A-Za-z0-9_-]/g, 'A')}.eyJ.x` : randomString(r, 60).replace(/[^\x21-\x7e]/g, 'x')}`;
      else if (auth === 7) headers['X-API-Key'] = randomString(r, 50).replace(/[^\x21-\x7e]/g, 'x');
      else if (auth === 8)
        headers.Authorization = r.pick([
          'Basic',
          'Basic !!!',
          `Basic ${Buffer.from(`u:${writer.key}`).toString('base64')}`,
          'Digest x',
          'Bearer',
        ]);

      let raw: string | Buffer | undefined;
      const shape = r.int(20);
      if (method !== 'GET' || r.chance(0.1)) {
        if (shape < 8) raw = JSON.stringify(mutatedBody(r, template, kbs));
        else if (shape < 15) raw = JSON.stringify(randomJson(r, r.int(3) === 0 ? 45 : 4));
        else if (shape < 16) raw = Buffer.from(Array.from({ length: r.int(2000) }, () => r.int(256)));
        else if (shape < 17)
          raw = r.pick([
            '',
            'null',
            '"x"',
            '[]',
            '{',
            '{"a":',
            '[1,]',
            '{"__proto__":{"polluted":1}}',
            '{"constructor":{"prototype":{"polluted":1}}}',
            'task_type=health_check&kb_id=x',
          ]);
        else {
          // Nesting far beyond MAX_JSON_DEPTH (and the call stack) inside an otherwise valid body.
          const depth = 1000 + r.int(100_000);
          raw = `{"task_type":"health_check","kb_id":"${r.pick(kbs)}","payload":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
        }
        if (typeof raw === 'string') raw = raw.replace(/"__NUM__"/g, () => r.pick(NUMBER_LITERALS));
        const type = r.chance(0.7) ? 'application/json' : r.pick(CONTENT_TYPES);
        if (type) headers['Content-Type'] = type;
      }

      let res: Reply;
      const sentAt = Date.now();
      try {
        res = await call(base, method, url, { headers, raw, timeoutMs: 10_000 });
        slowest.push([Date.now() - sentAt, `${method} ${url.slice(0, 100)} → ${res.status}`]);
        slowest.sort((a, b) => b[0] - a[0]).splice(3);
      } catch (error) {
        failures.push(`${method} ${url.slice(0, 200)}: no answer (${(error as Error).message})`);
        return;
      }
      const key = `${res.status}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      const isJson = String(res.headers['content-type']).includes('application/json');
      const shapeOk =
        res.status < 400 ||
        !isJson ||
        (res.body &&
          typeof res.body.error === 'string' &&
          typeof res.body.message === 'string' &&
          typeof res.body.code === 'string' &&
          typeof res.body.details === 'object');
      if (res.status >= 500 || !shapeOk) {
        failures.push(
          `${method} ${url.slice(0, 200)} [${JSON.stringify(headers).slice(0, 120)}] body=${String(raw ?? '').slice(0, 200)} → ${res.status} ${res.text.slice(0, 300)}`,
        );
      }
    };

    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (sent < REQUESTS && Date.now() - started < BUDGET_MS) {
          sent++;
          await one();
        }
      }),
    );

    const summary = [...counts.entries()]
      .sort()
      .map(([status, n]) => `${status}×${n}`)
      .join(' ');
    console.log(
      `fuzz seed ${SEED}: ${sent} requests over ${routes.length} routes in ${Date.now() - started} ms — ${summary}; failures: ${failures.length}; slowest: ${slowest.map(([ms, what]) => `${ms} ms ${what}`).join(', ')}`,
    );
    expect(failures.slice(0, 15)).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(Math.min(REQUESTS, MIN_REQUESTS));
    expect((await call(base, 'GET', '/health/live')).status).toBe(200);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
  it('refuses surrogates, NUL, prototype-ish keys, huge numbers and deep nesting anywhere in a create with 400 naming the field', async () => {
    const r = prng(SEED + 1);
    const headers = { 'X-API-Key': writer.key };
    const failures: string[] = [];
    const storedBefore = await t.prisma.task.count({ where: { kbId: { in: kbs } } });
    for (let i = 0; i < 200; i++) {
      const kb = r.pick(kbs);
      let raw: string;
      let expected: { fields?: string[]; max_depth?: number };
      if (r.chance(0.15)) {
        const depth = r.chance(0.5) ? 33 + r.int(5) : 1000 + r.int(50_000);
        raw = `{"task_type":"health_check","kb_id":"${kb}","payload":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
        expected = { max_depth: 32 };
      } else if (r.chance(0.5)) {
        const { json, path } = hostileTask(r, kb, '');
        raw = json;
        expected = { fields: [path] };
      } else {
        // A batch with the hostile task among valid ones: the index is named, and nothing is stored.
        const size = 1 + r.int(4);
        const bad = r.int(size);
        const items = Array.from({ length: size }, (_, j) =>
          j === bad
            ? hostileTask(r, kb, `[${j}].`)
            : {
                json: `{"task_type":"health_check","kb_id":"${kb}","payload":{},"schedule_for":"2999-01-01T00:00:00Z"}`,
                path: '',
              },
        );
        raw = `[${items.map((item) => item.json).join(',')}]`;
        expected = { fields: [items[bad].path] };
      }
      const path = raw.startsWith('[') ? '/api/v1/tasks/batch' : '/api/v1/tasks';
      const res = await call(base, 'POST', path, { headers: { ...headers, 'Content-Type': 'application/json' }, raw });
      const got = expected.fields
        ? { fields: Object.keys(res.body?.details?.fields ?? {}) }
        : { max_depth: res.body?.details?.max_depth };
      if (
        res.status !== 400 ||
        res.body?.code !== 'INVALID_REQUEST' ||
        JSON.stringify(got) !== JSON.stringify(expected)
      ) {
        failures.push(
          `${path} ${raw.slice(0, 200)} → ${res.status} ${res.text.slice(0, 300)} (expected ${JSON.stringify(expected)})`,
        );
      }
    }
    expect(failures.slice(0, 10)).toEqual([]);
    expect(await t.prisma.task.count({ where: { kbId: { in: kbs } } })).toBe(storedBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
