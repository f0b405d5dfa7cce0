import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { AppRole } from '../../src/config/env.validation';
import { taskRequest } from '../factories/task.factory';
import { makeKey } from '../setup/auth-helpers';
import { createTestApp, KbTracker, TestApp, uniqueKb } from '../setup/test-app';

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
    await request(t.http)
      .post('/api/v1/tasks')
      .set('Idempotency-Key', key)
      .send(taskRequest({ kb_id: kb }))
      .expect(201);
    const res = await request(t.http)
      .post('/api/v1/tasks')
      .set('Idempotency-Key', key)
      .send(taskRequest({ kb_id: kb, priority: 'high' }))
      .expect(409);
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
    expect(again.body.tasks.map((x: { id: string }) => x.id)).toEqual(
      first.body.tasks.map((x: { id: string }) => x.id),
    );
    await request(t.http).post('/api/v1/tasks').set('Idempotency-Key', key).send(items[0]).expect(409);
    expect(await t.prisma.task.count({ where: { kbId: kb } })).toBe(2);
  });

  it('scopes a key by kb: the same key in two kbs creates a task in each, and each replays its own', async () => {
    const [kbA, kbB] = [uniqueKb('idemkba'), uniqueKb('idemkbb')];
    const key = randomUUID();
    const post = (kb: string, priority = 'normal') =>
      request(t.http)
        .post('/api/v1/tasks')
        .set('Idempotency-Key', key)
        .send(taskRequest({ kb_id: kb, priority }))
        .expect(201);
    const inA = await post(kbA);
    const inB = await post(kbB, 'high');
    expect(inB.headers['idempotent-replayed']).toBeUndefined();
    expect(inB.body).toMatchObject({ kb_id: kbB, priority: 'high' });
    expect(inB.body.id).not.toBe(inA.body.id);
    const againA = await post(kbA);
    expect(againA.headers['idempotent-replayed']).toBe('true');
    expect(againA.body.id).toBe(inA.body.id);
    // A batch over both kbs is a scope of its own.
    const batch = await request(t.http)
      .post('/api/v1/tasks/batch')
      .set('Idempotency-Key', key)
      .send([taskRequest({ kb_id: kbA }), taskRequest({ kb_id: kbB })])
      .expect(201);
    expect(batch.headers['idempotent-replayed']).toBeUndefined();
    expect(await t.prisma.task.count({ where: { kbId: { in: [kbA, kbB] } } })).toBe(4);
  });

  it('refuses a malformed key', async () => {
    const res = await request(t.http)
      .post('/api/v1/tasks')
      .set('Idempotency-Key', 'x'.repeat(300))
      .send(taskRequest())
      .expect(400);
    expect(res.body.code).toBe('INVALID_REQUEST');
  });

  describe('with authentication', () => {
    let authed: TestApp;
    const callers = { a: makeKey('idem-caller-a', 'write'), b: makeKey('idem-caller-b', 'write') };
    const post = (caller: { key: string }, key: string, body: object) =>
      request(authed.http).post('/api/v1/tasks').set('X-API-Key', caller.key).set('Idempotency-Key', key).send(body);

    beforeAll(async () => {
      authed = await createTestApp({ API_KEYS: JSON.stringify([callers.a.entry, callers.b.entry]) }, AppRole.Api);
    });

    const kbs = new KbTracker();

    afterAll(async () => {
      delete process.env.API_KEYS;
      // An API-only app runs no workers: its tasks stay queued, and another test's reconciler would dispatch them.
      await authed.prisma.task.deleteMany({ where: { kbId: { in: kbs.ids } } });
      await authed.close();
    });

    it('scopes a key by caller: another caller neither replays the task nor gets 409, and sees nothing of it', async () => {
      const kb = kbs.kb('idemcallers');
      const key = randomUUID();
      const body = taskRequest({ kb_id: kb, payload: { checks: ['database'] } });
      const ofA = await post(callers.a, key, body).expect(201);
      // The same key and body from caller B: B's own task, not A's.
      const ofB = await post(callers.b, key, body).expect(201);
      expect(ofB.headers['idempotent-replayed']).toBeUndefined();
      expect(ofB.body.id).not.toBe(ofA.body.id);
      // A's key with another body from B: B's new task, not 409 (which would tell B the key exists).
      const keyOfA = randomUUID();
      await post(callers.a, keyOfA, taskRequest({ kb_id: kb, priority: 'low' })).expect(201);
      const notReused = await post(callers.b, keyOfA, taskRequest({ kb_id: kb, priority: 'high' })).expect(201);
      expect(notReused.body.priority).toBe('high');
      // Within B's own scope, another body is still 409.
      const reused = await post(callers.b, key, taskRequest({ kb_id: kb, priority: 'high' })).expect(409);
      expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
      // Within one caller, a repeat still replays.
      const againA = await post(callers.a, key, body).expect(201);
      expect(againA.headers['idempotent-replayed']).toBe('true');
      expect(againA.body.id).toBe(ofA.body.id);
      const againB = await post(callers.b, key, body).expect(201);
      expect(againB.body.id).toBe(ofB.body.id);
      expect(await authed.prisma.task.count({ where: { kbId: kb } })).toBe(4);
    });
  });
});
