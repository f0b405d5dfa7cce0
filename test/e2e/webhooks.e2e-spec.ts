import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigService } from '@nestjs/config';
import request from 'supertest';
import type { AllConfig } from '../../src/config/app.config';
import { AppRole } from '../../src/config/env.validation';
import { verifyWebhookSignature } from '../../src/webhooks/webhook-signature';
import { WebhookUrlPolicy } from '../../src/webhooks/webhook-url-policy.service';
import { taskRequest } from '../factories/task.factory';
import { createTestApp, TestApp, uniqueKb, waitFor } from '../setup/test-app';

type Body = Record<string, any>;

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A local webhook receiver: records every request; a path may be told to fail its first N requests. */
class Receiver {
  readonly received: Received[] = [];
  readonly failFirst = new Map<string, number>();
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      this.received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const failures = this.failFirst.get(path) ?? 0;
      if (failures > 0) this.failFirst.set(path, failures - 1);
      res.writeHead(failures > 0 ? 500 : 204).end();
    });
  });
  url = '';

  async start(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  to(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    this.server.close();
    this.server.closeAllConnections();
  }
}

const SECRET = 'whsec_test_6f1c2a';

describe('Webhooks (e2e)', () => {
  let t: TestApp;
  const receiver = new Receiver();
  const kb = uniqueKb('webhooks');

  const create = async (overrides: Record<string, unknown>): Promise<Body> =>
    (
      await request(t.http)
        .post('/api/v1/tasks')
        .send(taskRequest({ kb_id: kb, ...overrides }))
        .expect(201)
    ).body;

  beforeAll(async () => {
    await receiver.start();
    t = await createTestApp({
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_RETRY_BACKOFF_MS: '100',
      WEBHOOK_MAX_ATTEMPTS: '5',
    });
  });

  afterAll(async () => {
    await t.close();
    await receiver.stop();
  });

  it('POSTs one signed delivery per finished task: completed, failed and cancelled', async () => {
    const completed = await create({
      payload: { samples: 2, interval_ms: 50 },
      callback_url: `${receiver.url}/done`,
      callback_secret: SECRET,
    });
    const failed = await create({
      payload: { samples: 100, interval_ms: 100 },
      timeout: 1,
      max_retries: 0,
      callback_url: `${receiver.url}/failed`,
      callback_secret: SECRET,
    });
    const cancelled = await create({
      schedule_for: '2999-01-01T00:00:00Z',
      callback_url: `${receiver.url}/cancelled`,
      callback_secret: SECRET,
    });
    const quiet = await create({ payload: {} });
    expect(completed.callback_url).toBe(`${receiver.url}/done`);
    expect(completed).not.toHaveProperty('callback_secret');
    await request(t.http).delete(`/api/v1/tasks/${cancelled.id}`).expect(200);

    const tasks = {
      '/done': [completed, 'completed'],
      '/failed': [failed, 'failed'],
      '/cancelled': [cancelled, 'cancelled'],
    } as const;
    await waitFor(
      async () => Object.keys(tasks).map((path) => receiver.to(path).length),
      (counts) => counts.every((n) => n >= 1),
      { what: 'a delivery for each finished task' },
    );
    // Every delivery attempt is recorded; waiting for the records means the queue is done with them.
    const ids = Object.values(tasks).map(([task]) => task.id);
    await waitFor(
      () => t.prisma.webhookDelivery.count({ where: { taskId: { in: ids } } }),
      (n) => n === 3,
      { what: 'three recorded deliveries' },
    );
    await waitFor(
      () => t.prisma.task.findUnique({ where: { id: quiet.id } }),
      (task) => task?.status === 'completed',
      { what: 'the task without callback' },
    );

    for (const [path, [task, status]] of Object.entries(tasks)) {
      const [delivery, ...more] = receiver.to(path);
      expect(more).toEqual([]);
      expect(delivery.headers['content-type']).toBe('application/json');
      expect(delivery.headers['x-taskmanager-event']).toBe(`task.${status}`);
      expect(delivery.headers['x-taskmanager-attempt']).toBe('1');
      const body = JSON.parse(delivery.body);
      expect(body).toMatchObject({ id: task.id, status, kb_id: kb, callback_url: `${receiver.url}${path}` });
      expect(body).not.toHaveProperty('callback_secret');

      // The signature, checked as a receiver would: with the helper, and by hand from docs/events-and-webhooks.md's recipe.
      const signature = String(delivery.headers['x-taskmanager-signature']);
      expect(verifyWebhookSignature(SECRET, signature, delivery.body)).toBe(true);
      expect(verifyWebhookSignature('another-secret', signature, delivery.body)).toBe(false);
      const [, timestamp, hex] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature)!;
      expect(Math.abs(Date.now() / 1000 - Number(timestamp))).toBeLessThan(60);
      expect(hex).toBe(createHmac('sha256', SECRET).update(`${timestamp}.${delivery.body}`).digest('hex'));

      // The delivery id is the terminal event of the task's history.
      const history = (await request(t.http).get(`/api/v1/tasks/${task.id}/history`).expect(200)).body;
      const terminal = history.events.filter((e: Body) => e.status === status).at(-1);
      expect(delivery.headers['x-taskmanager-delivery']).toBe(String(terminal.event_id));
      expect(history.webhook_deliveries).toEqual([
        expect.objectContaining({
          event_id: terminal.event_id,
          attempt: 1,
          status_code: 204,
          succeeded: true,
          error: null,
          url: `${receiver.url}${path}`,
        }),
      ]);
    }
    expect(receiver.received.some((r) => JSON.parse(r.body).id === quiet.id)).toBe(false);
  });

  it('retries a failing receiver with backoff: two 500s, then delivered on the third attempt', async () => {
    receiver.failFirst.set('/flaky', 2);
    const task = await create({ payload: {}, callback_url: `${receiver.url}/flaky`, callback_secret: SECRET });
    await waitFor(
      async () => receiver.to('/flaky').length,
      (n) => n >= 3,
      { what: 'three delivery attempts' },
    );
    await waitFor(
      () => t.prisma.webhookDelivery.count({ where: { taskId: task.id } }),
      (n) => n === 3,
      { what: 'three recorded attempts' },
    );

    const attempts = receiver.to('/flaky');
    expect(attempts).toHaveLength(3);
    expect(attempts.map((a) => a.headers['x-taskmanager-attempt'])).toEqual(['1', '2', '3']);
    // The same delivery each time: same id, same bytes, each signed afresh.
    expect(new Set(attempts.map((a) => a.headers['x-taskmanager-delivery'])).size).toBe(1);
    expect(new Set(attempts.map((a) => a.body)).size).toBe(1);
    for (const attempt of attempts)
      expect(verifyWebhookSignature(SECRET, String(attempt.headers['x-taskmanager-signature']), attempt.body)).toBe(
        true,
      );

    const { webhook_deliveries: deliveries } = (
      await request(t.http).get(`/api/v1/tasks/${task.id}/history`).expect(200)
    ).body;
    expect(deliveries.map((d: Body) => [d.attempt, d.status_code, d.succeeded, d.error])).toEqual([
      [1, 500, false, 'Receiver answered 500'],
      [2, 500, false, 'Receiver answered 500'],
      [3, 204, true, null],
    ]);
    // Exponential backoff from 100 ms: the gaps grow.
    const at = deliveries.map((d: Body) => Date.parse(d.at));
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(90);
    expect(at[2] - at[1]).toBeGreaterThanOrEqual(180);
  });

  describe('refusing private addresses', () => {
    const policy = (allowPrivate: boolean, allowedHosts: string[] = []) =>
      new WebhookUrlPolicy({ getOrThrow: () => ({ allowPrivate, allowedHosts }) } as unknown as ConfigService<
        AllConfig,
        true
      >);

    it.each([
      ['http://127.0.0.1:8080/hook', 'resolves to 127.0.0.1'],
      ['http://localhost/hook', 'a private, loopback or link-local address'],
      ['http://[::1]/hook', 'resolves to ::1'],
      ['http://169.254.169.254/latest/meta-data', 'resolves to 169.254.169.254'],
      ['http://10.0.0.7/hook', 'resolves to 10.0.0.7'],
      ['http://192.168.1.20/hook', 'resolves to 192.168.1.20'],
      ['http://[fe80::1]/hook', 'resolves to fe80::1'],
      ['http://[::ffff:127.0.0.1]/hook', 'private, loopback or link-local'],
      ['http://0x7f000001/hook', 'resolves to 127.0.0.1'],
      ['ftp://example.com/hook', 'must use http or https'],
      ['http://user:pw@example.com/hook', 'must not contain credentials'],
    ])('refuses %s unless private addresses are allowed', async (url, reason) => {
      expect(await policy(false).refusal(url)).toContain(reason);
    });

    it('allows them when configured, and holds every host to the allow-list', async () => {
      expect(await policy(true).refusal('http://127.0.0.1:8080/hook')).toBeNull();
      expect(await policy(true).refusal('http://localhost/hook')).toBeNull();
      expect(await policy(true, ['hooks.example.com']).refusal('http://localhost/hook')).toContain(
        'not on the allowed webhook hosts',
      );
      expect(await policy(true, ['*.localhost', 'localhost']).refusal('http://localhost/hook')).toBeNull();
    });

    it('answers 400 at create time, naming the field, in single and batch creates', async () => {
      // An API-only app: it has no worker, so it never takes part in delivering anything.
      const strict = await createTestApp({ WEBHOOK_ALLOW_PRIVATE: 'false' }, AppRole.Api);
      try {
        const single = await request(strict.http)
          .post('/api/v1/tasks')
          .send(taskRequest({ kb_id: kb, callback_url: 'http://127.0.0.1:9/hook' }))
          .expect(400);
        expect(single.body.code).toBe('INVALID_REQUEST');
        expect(single.body.details.fields.callback_url[0]).toContain('127.0.0.1');

        const batch = await request(strict.http)
          .post('/api/v1/tasks/batch')
          .send([taskRequest({ kb_id: kb }), taskRequest({ kb_id: kb, callback_url: 'http://localhost:9/hook' })])
          .expect(400);
        expect(Object.keys(batch.body.details.fields)).toEqual(['[1].callback_url']);
        expect(await strict.prisma.task.count({ where: { kbId: kb, callbackUrl: { contains: ':9/hook' } } })).toBe(0);

        await request(strict.http)
          .post('/api/v1/tasks')
          .send(taskRequest({ kb_id: kb, callback_url: 'not a url' }))
          .expect(400);

        // IPv6 forms that carry a local IPv4 address (the URL parser rewrites the dotted tail to hex).
        const disguised = [
          'http://[::127.0.0.1]/hook',
          'http://[::ffff:0:127.0.0.1]/hook',
          'http://[64:ff9b:1::7f00:1]/hook',
          'http://[64:ff9b::10.0.0.1]/hook',
          'http://[2002:7f00:1::1]/hook',
        ];
        for (const callback_url of disguised) {
          const res = await request(strict.http)
            .post('/api/v1/tasks')
            .send(taskRequest({ kb_id: kb, callback_url }));
          expect({ callback_url, status: res.status, code: res.body.code }).toEqual({
            callback_url,
            status: 400,
            code: 'INVALID_REQUEST',
          });
          expect(res.body.details.fields.callback_url[0]).toContain('private, loopback or link-local');
        }
        expect(await strict.prisma.task.count({ where: { kbId: kb, callbackUrl: { contains: '/hook' } } })).toBe(0);
      } finally {
        process.env.WEBHOOK_ALLOW_PRIVATE = 'true';
        await strict.close();
      }
    });
  });
});
