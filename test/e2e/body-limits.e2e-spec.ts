import type { AddressInfo } from 'node:net';
import { AppRole } from '../../src/config/env.validation';
import { call } from '../setup/auth-helpers';
import { createTestApp, TestApp, uniqueKb } from '../setup/test-app';

const MiB = 1024 * 1024;

/** `count` vectors of `dimension` float32 values, printed as JSON doubles as embedding clients do (~20 bytes a value). */
function vectors(count: number, dimension: number): { id: string; values: number[] }[] {
  let seed = 7;
  const next = () => {
    seed = (seed * 16807) % 2147483647;
    return Math.fround(seed / 2147483647 - 0.5);
  };
  return Array.from({ length: count }, (_, i) => ({ id: `v${i}`, values: Array.from({ length: dimension }, next) }));
}

/**
 * Body limits per route, with the defaults: task creation takes what its documented
 * payloads need, every other route stays small, and a body over a route's limit gets 413
 * PAYLOAD_TOO_LARGE in the documented error body, documented on every route that reads one.
 */
describe('Body limits per route (e2e)', () => {
  let t: TestApp;
  let base: string;
  const kb = uniqueKb('limits');

  beforeAll(async () => {
    t = await createTestApp({}, AppRole.Api);
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await t.prisma.task.updateMany({
      where: { kbId: kb, status: { in: ['queued', 'processing'] } },
      data: { status: 'cancelled' },
    });
    await t.close();
  });

  it('accepts a vector_storage task of 100 vectors of 1,536 dimensions (over 1 MB), alone and in a batch', async () => {
    const task = {
      task_type: 'vector_storage',
      kb_id: kb,
      payload: { vectors: vectors(100, 1536), model: 'text-embedding-3-small' },
      schedule_for: '2999-01-01T00:00:00Z',
    };
    const body = JSON.stringify(task);
    expect(Buffer.byteLength(body)).toBeGreaterThan(1.5 * 1e6);
    const one = await call(base, 'POST', '/api/v1/tasks', {
      headers: { 'Content-Type': 'application/json' },
      raw: body,
    });
    expect({ status: one.status, text: one.status === 201 ? '' : one.text.slice(0, 300) }).toEqual({
      status: 201,
      text: '',
    });
    const batch = await call(base, 'POST', '/api/v1/tasks/batch', { json: [task, task] });
    expect({ status: batch.status, count: batch.body?.count }).toEqual({ status: 201, count: 2 });
    const stored = await t.prisma.task.findUniqueOrThrow({ where: { id: one.body.id } });
    expect((stored.payload as { vectors: unknown[] }).vectors).toHaveLength(100);
  });

  it("answers a body over a small route's limit (BODY_LIMIT) with 413 in the error body, naming the limit", async () => {
    const res = await call(base, 'PUT', '/api/v1/tasks/550e8400-e29b-41d4-a716-446655440000/progress', {
      json: { progress: 5, message: 'x'.repeat(100 * 1024) },
    });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({
      error: 'Payload too large',
      message: "The request body is larger than this route's limit of 64kb (BODY_LIMIT)",
      code: 'PAYLOAD_TOO_LARGE',
      details: { limit_bytes: 64 * 1024, length_bytes: expect.any(Number), setting: 'BODY_LIMIT' },
    });
  });

  it('answers a create body over TASK_BODY_LIMIT with 413 in the error body, storing nothing', async () => {
    const raw = Buffer.alloc(64 * MiB + 1024, 0x20);
    raw.write(`{"task_type":"health_check","kb_id":"${kb}","payload":{}}`);
    for (const path of ['/api/v1/tasks', '/api/v1/tasks/batch']) {
      const res = await call(base, 'POST', path, {
        headers: { 'Content-Type': 'application/json' },
        raw,
        timeoutMs: 60_000,
      });
      expect({ path, status: res.status, code: res.body?.code, details: res.body?.details }).toEqual({
        path,
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
        details: { limit_bytes: 64 * MiB, length_bytes: raw.length, setting: 'TASK_BODY_LIMIT' },
      });
    }
    expect(await t.prisma.task.count({ where: { kbId: kb, taskType: 'health_check' } })).toBe(0);
  });

  it("documents 413 with the shared error body and the route's limit on every operation that reads a body, and on no other", async () => {
    interface Example {
      value: { message: string };
    }
    const paths = (await call(base, 'GET', '/docs-json')).body.paths as Record<
      string,
      Record<
        string,
        {
          responses: Record<
            string,
            { description: string; content: Record<string, { schema: unknown; examples: Record<string, Example> }> }
          >;
        }
      >
    >;
    const seen: string[] = [];
    for (const [path, item] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const response = operation.responses['413'];
        if (method === 'get') {
          expect(response).toBeUndefined();
          continue;
        }
        seen.push(`${method} ${path}`);
        expect(response.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ErrorResponseDto' });
        expect(response.description).toBe('PAYLOAD_TOO_LARGE');
        const { message } = response.content['application/json'].examples.PAYLOAD_TOO_LARGE.value;
        expect(message).toContain(
          path === '/api/v1/tasks' || path === '/api/v1/tasks/batch' ? '64mb (TASK_BODY_LIMIT)' : '64kb (BODY_LIMIT)',
        );
      }
    }
    expect(seen).toEqual(
      expect.arrayContaining([
        'post /api/v1/tasks',
        'post /api/v1/tasks/batch',
        'put /api/v1/tasks/{task_id}/progress',
        'post /api/v1/tasks/bulk/cancel',
      ]),
    );
  });
});
