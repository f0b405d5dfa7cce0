import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { AppRole } from '../../src/config/env.validation';
import { taskRequest } from '../factories/task.factory';
import { startService, ServiceProcess } from '../setup/processes';
import { SseClient } from '../setup/sse-client';
import { createTestApp, TestApp, KbTracker, waitFor } from '../setup/test-app';

type Body = Record<string, any>;

/**
 * Live events and history across processes: the API runs here (api role, no workers) and a
 * separate worker process runs the tasks, so every event seen here was written by another
 * process and reached this one only through PostgreSQL.
 */
describe('Task events over SSE, and task history (e2e)', () => {
  let t: TestApp;
  let worker: ServiceProcess;
  let base: string;
  const clients: SseClient[] = [];
  const kbs = new KbTracker();
  const kb = kbs.kb;
  const open = async (path: string, lastEventId?: string) => {
    const client = await SseClient.open(`${base}${path}`, lastEventId);
    clients.push(client);
    return client;
  };
  const create = async (overrides: Record<string, unknown>): Promise<Body> =>
    (await request(t.http).post('/api/v1/tasks').send(taskRequest(overrides)).expect(201)).body;
  const history = async (id: string): Promise<Body> =>
    (await request(t.http).get(`/api/v1/tasks/${id}/history`).expect(200)).body;

  beforeAll(async () => {
    t = await createTestApp({ EVENTS_HEARTBEAT_MS: '1000', EVENTS_POLL_INTERVAL_MS: '50' }, AppRole.Api);
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    worker = await startService('worker', { QUEUE_PREFIX: t.prefix, LOG_LEVEL: 'log' });
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    const open = await t.prisma.task.findMany({
      where: { kbId: { in: kbs.ids }, status: { in: ['queued', 'processing'] } },
    });
    for (const task of open) await request(t.http).delete(`/api/v1/tasks/${task.id}`);
    await worker?.stop();
    await t.close();
  });

  it('streams every status change and progress report, in order, as another worker process makes them', async () => {
    const kbId = kb('live');
    const kbStream = await open(`/api/v1/tasks/events?kb_id=${kbId}`);
    expect(kbStream.status).toBe(200);
    expect(kbStream.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(kbStream.headers['cache-control']).toContain('no-cache');
    await kbStream.waitFor((c) => c.messages.some((m) => m.event === 'ready'), 'the ready message');

    const task = await create({ kb_id: kbId, payload: { samples: 4, interval_ms: 150 } });
    const taskStream = await open(`/api/v1/tasks/${task.id}/events`);
    await taskStream.waitFor((c) => c.ended, 'the task stream to end with the task');
    await kbStream.waitFor(
      (c) => c.events.some((e) => e.status === 'completed'),
      'the completed event on the kb stream',
    );

    const events = taskStream.events;
    expect(events.map((e) => [e.type, e.status, e.progress])).toEqual([
      ['created', 'queued', 0],
      ['status', 'processing', 0],
      ['progress', 'processing', 25],
      ['progress', 'processing', 50],
      ['progress', 'processing', 75],
      ['progress', 'processing', 100],
      ['status', 'completed', 100],
    ]);
    expect(events.slice(2, 6).map((e) => e.message)).toEqual([
      'Probe round 1 of 4',
      'Probe round 2 of 4',
      'Probe round 3 of 4',
      'Probe round 4 of 4',
    ]);
    // Written by another process: this one has no workers at all. (The spawned worker, unless a
    // concurrent test run sharing the database took the task over: the pid is not asserted.)
    expect(events[1].worker_id).toMatch(/^worker_/);
    expect(events[1].worker_id).not.toContain(`_${process.pid}_`);
    const ids = events.map((e) => e.event_id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(taskStream.messages.map((m) => m.id).filter(Boolean)).toEqual(ids.map(String));
    expect(taskStream.messages.at(-1)).toEqual({ event: 'end', data: { task_id: task.id, status: 'completed' } });

    // The kb stream saw the same events live, in the same order.
    expect(kbStream.events.filter((e) => e.task_id === task.id).map((e) => e.event_id)).toEqual(ids);
    // And the history holds exactly them.
    const stored = await history(task.id);
    expect(stored.events.map((e: Body) => e.event_id)).toEqual(ids);
    expect(stored.attempts).toEqual([
      expect.objectContaining({
        attempt: 1,
        outcome: 'completed',
        worker_id: events[1].worker_id,
        error: null,
        duration_seconds: expect.any(Number),
      }),
    ]);
    expect(stored.attempts[0].duration_seconds).toBeGreaterThanOrEqual(0.4);
  });

  it('resumes a task stream from Last-Event-ID without losing or repeating an event', async () => {
    const task = await create({ kb_id: kb('resume'), payload: { samples: 8, interval_ms: 150 } });
    const first = await open(`/api/v1/tasks/${task.id}/events`);
    await first.waitFor((c) => c.events.some((e) => e.type === 'progress'), 'a first progress event');
    first.close();
    const resumeFrom = first.lastId!;

    // Everything after the disconnect happens while no one listens.
    await waitFor(
      () => t.prisma.task.findUnique({ where: { id: task.id } }),
      (row) => row?.status === 'completed',
      { what: 'the task to finish' },
    );
    const second = await open(`/api/v1/tasks/${task.id}/events`, resumeFrom);
    await second.waitFor((c) => c.ended, 'the resumed stream to end');

    const seen = [...first.events, ...second.events].map((e) => e.event_id);
    const all = (await history(task.id)).events.map((e: Body) => e.event_id);
    expect(second.events[0].event_id).toBeGreaterThan(Number(resumeFrom));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(all);
    expect(all).toHaveLength(11);
  });

  it('resumes a knowledge-base stream from Last-Event-ID: every event of the kb arrives', async () => {
    const kbId = kb('kbresume');
    const first = await open(`/api/v1/tasks/events?kb_id=${kbId}&task_type=health_check`);
    await first.waitFor((c) => c.lastId !== undefined, 'the ready message');
    const a = await create({ kb_id: kbId, payload: { samples: 2, interval_ms: 100 } });
    await first.waitFor(
      (c) => c.events.some((e) => e.task_id === a.id && e.status === 'completed'),
      'task a to complete',
    );
    first.close();

    const b = await create({ kb_id: kbId, payload: { samples: 3, interval_ms: 50 } });
    const c = await create({ kb_id: kbId, priority: 'high', payload: {} });
    await waitFor(
      () => t.prisma.task.count({ where: { id: { in: [b.id, c.id] }, status: 'completed' } }),
      (done) => done === 2,
      { what: 'tasks b and c to complete' },
    );
    const second = await open(`/api/v1/tasks/events?kb_id=${kbId}&task_type=health_check`, first.lastId);
    const stored = [...(await history(a.id)).events, ...(await history(b.id)).events, ...(await history(c.id)).events];
    await second.waitFor((cl) => cl.events.length + first.events.length >= stored.length, 'the missed events');

    const seen = new Set([...first.events, ...second.events].map((e) => e.event_id));
    for (const event of stored) expect(seen).toContain(event.event_id);
    expect(second.events.every((e) => e.kb_id === kbId && e.task_type === 'health_check')).toBe(true);
  });

  it('keeps idle streams open with heartbeat comments', async () => {
    const idle = await open(`/api/v1/tasks/events?kb_id=${kb('idle')}`);
    await idle.waitFor((c) => c.comments.some((line) => line.startsWith('heartbeat')), 'a heartbeat comment', 5000);
    expect(idle.ended).toBe(false);
    expect(idle.events).toEqual([]);
  });

  it('records each attempt with its error and duration when a task fails', async () => {
    const task = await create({
      kb_id: kb('attempts'),
      payload: { samples: 200, interval_ms: 100 },
      timeout: 1,
      max_retries: 1,
    });
    const stream = await open(`/api/v1/tasks/${task.id}/events`);
    await stream.waitFor((c) => c.ended, 'the task to fail for good');
    expect(stream.messages.at(-1)).toEqual({ event: 'end', data: { task_id: task.id, status: 'failed' } });

    const stored = await history(task.id);
    expect(stored.status).toBe('failed');
    expect(stored.attempts.map((a: Body) => [a.attempt, a.outcome, a.error])).toEqual([
      [1, 'retried', 'Task timed out after 1s'],
      [2, 'failed', 'Task timed out after 1s'],
    ]);
    for (const attempt of stored.attempts) {
      expect(attempt.duration_seconds).toBeGreaterThanOrEqual(0.9);
      expect(attempt.duration_seconds).toBeLessThan(5);
      expect(attempt.worker_id).toMatch(/^worker_/);
      expect(attempt.worker_id).not.toContain(`_${process.pid}_`);
    }
    const ends = stored.events.filter((e: Body) => e.error);
    expect(ends.map((e: Body) => [e.status, e.attempt])).toEqual([
      ['queued', 1],
      ['failed', 2],
    ]);
  });

  it('answers 404 for an unknown task, 400 for a bad Last-Event-ID, and documents the streams in Swagger', async () => {
    const missing = await request(t.http).get('/api/v1/tasks/00000000-0000-4000-8000-000000000000/events').expect(404);
    expect(missing.body.code).toBe('TASK_NOT_FOUND');
    await request(t.http).get('/api/v1/tasks/00000000-0000-4000-8000-000000000000/history').expect(404);
    const bad = await request(t.http).get('/api/v1/tasks/events').set('Last-Event-ID', 'yesterday').expect(400);
    expect(bad.body.code).toBe('INVALID_REQUEST');

    const docs = (await request(t.http).get('/docs-json').expect(200)).body;
    for (const path of ['/api/v1/tasks/events', '/api/v1/tasks/{task_id}/events']) {
      expect(Object.keys(docs.paths[path].get.responses['200'].content)).toEqual(['text/event-stream']);
      expect(docs.paths[path].get.parameters.map((p: Body) => p.name)).toContain('Last-Event-ID');
    }
    expect(docs.components.schemas.TaskEventDto.properties).toHaveProperty('event_id');
    expect(docs.paths['/api/v1/tasks/{task_id}/history'].get.responses['200']).toBeDefined();
  });
});
