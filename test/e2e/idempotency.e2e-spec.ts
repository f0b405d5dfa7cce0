import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { taskRequest } from '../factories/task.factory';
import { createTestApp, TestApp, uniqueKb } from '../setup/test-app';

describe('Idempotency-Key (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('returns the original task for a repeated create and stores it once', async () => {
    const kb = uniqueKb('idem');
    const key = randomUUID();
    const body = taskRequest({ kb_id: kb, payload: { checks: ['database'] } });
    const first = await request(t.http).post('/api/v1/tasks').set('Idempotency-Key', key).send(body).expect(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    // Same body with keys in another order is the same request.
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const again = await request(t.http).post('/api/v1/tasks').set('Idempotency-Key', key).send(reordered).expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    expect(await t.prisma.task.count({ where: { kbId: kb } })).toBe(1);
  });

  it('answers 409 for the same key with a different body', async () => {
    const kb = uniqueKb('idem409');
    const key = randomUUID();
    await request(t.http).post('/api/v1/tasks').set('Idempotency-Key', key).send(taskRequest({ kb_id: kb })).expect(201);
    const res = await request(t.http).post('/api/v1/tasks').set('Idempotency-Key', key).send(taskRequest({ kb_id: kb, priority: 'high' })).expect(409);
    expect(res.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { idempotency_key: key } });
    expect(await t.prisma.task.count({ where: { kbId: kb } })).toBe(1);
  });

  it('creates once when the same request races itself', async () => {
    const kb = uniqueKb('idemrace');
    const key = randomUUID();
    const body = taskRequest({ kb_id: kb });
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => request(t.http).post('/api/v1/tasks').set('Idempotency-Key', key).send(body)),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(201));
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    expect(await t.prisma.task.count({ where: { kbId: kb } })).toBe(1);
  });

  it('replays a batch as a batch, and keys do not cross between single and batch', async () => {
    const kb = uniqueKb('idembatch');
    const key = randomUUID();
    const items = [taskRequest({ kb_id: kb }), taskRequest({ kb_id: kb, priority: 'low' })];
    const first = await request(t.http).post('/api/v1/tasks/batch').set('Idempotency-Key', key).send(items).expect(201);
    const again = await request(t.http).post('/api/v1/tasks/batch').set('Idempotency-Key', key).send(items).expect(201);
    expect(again.body.count).toBe(2);
    expect(again.body.tasks.map((x: { id: string }) => x.id)).toEqual(first.body.tasks.map((x: { id: string }) => x.id));
    await request(t.http).post('/api/v1/tasks').set('Idempotency-Key', key).send(items[0]).expect(409);
    expect(await t.prisma.task.count({ where: { kbId: kb } })).toBe(2);
  });

  it('refuses a malformed key', async () => {
    const res = await request(t.http).post('/api/v1/tasks').set('Idempotency-Key', 'x'.repeat(300)).send(taskRequest()).expect(400);
    expect(res.body.code).toBe('INVALID_REQUEST');
  });
});
