import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { AppRole } from '../../src/config/env.validation';
import { TaskQueryRepository } from '../../src/task-engine/task-query.repository';
import { TaskWriteRepository } from '../../src/task-engine/task-write.repository';
import type { NewTask } from '../../src/task-types/task-record';
import { toTaskRecord } from '../../src/task-types/task-rows';
import { TaskPriority, TaskStatus, TaskType } from '../../src/task-types/task-types';
import { taskRequest } from '../factories/task.factory';
import { createTestApp, KbTracker, TestApp } from '../setup/test-app';

/** Every kb these tests make; their tasks are deleted afterwards. */
const kbs = new KbTracker();

/**
 * The hot path shares statements between concurrent callers (one INSERT for many requests,
 * one UPDATE for many claims or completions). These tests check that sharing never mixes
 * callers up: each gets exactly its own rows, one caller's bad row fails only that caller,
 * and the attempt guards hold inside a shared statement.
 */
describe('Coalesced writes', () => {
  let t: TestApp;
  let tasks: TaskWriteRepository;
  let reads: TaskQueryRepository;

  beforeAll(async () => {
    // API only: no worker takes the tasks these tests move by hand.
    t = await createTestApp({}, AppRole.Api);
    tasks = t.app.get(TaskWriteRepository);
    reads = t.app.get(TaskQueryRepository);
  });

  afterAll(async () => {
    await t.prisma.task.deleteMany({ where: { kbId: { in: kbs.ids } } });
    await t.close();
  });

  const newTask = (kbId: string, overrides: Partial<NewTask> = {}): NewTask => ({
    taskType: TaskType.health_check,
    kbId,
    priority: TaskPriority.normal,
    payload: { checks: ['database'] },
    maxRetries: 3,
    timeoutSeconds: 300,
    scheduleFor: null,
    ...overrides,
  });

  it('gives 200 concurrent POSTs each its own task, stored as sent', async () => {
    const kbId = kbs.kb('coalesce');
    const priorities = Object.values(TaskPriority);
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        request(t.http)
          .post('/api/v1/tasks')
          .send(
            taskRequest({
              kb_id: kbId,
              priority: priorities[i % priorities.length],
              payload: { checks: ['database'] },
              timeout: 10 + i,
            }),
          )
          .expect(201),
      ),
    );
    const ids = new Set(responses.map((r) => r.body.id as string));
    expect(ids.size).toBe(200);
    responses.forEach((r, i) => {
      expect(r.body.timeout).toBe(10 + i);
      expect(r.body.priority).toBe(priorities[i % priorities.length]);
      expect(r.body.status).toBe('queued');
    });
    const rows = await t.prisma.task.findMany({
      where: { kbId },
      select: { id: true, timeoutSeconds: true, priority: true },
    });
    expect(rows).toHaveLength(200);
    const stored = new Map(rows.map((row) => [row.id, row]));
    responses.forEach((r, i) => {
      expect(stored.get(r.body.id)).toEqual({
        id: r.body.id,
        timeoutSeconds: 10 + i,
        priority: priorities[i % priorities.length],
      });
    });
  });

  it('fails only the request whose row the database refuses, not those it shared a statement with', async () => {
    const kbId = kbs.kb('coalesce_bad');
    const outcomes = await Promise.allSettled([
      tasks.insert([newTask(kbId), newTask(kbId)]),
      // No such parent: the foreign key refuses this row.
      tasks.insert([newTask(kbId, { parentId: randomUUID() })]),
      tasks.insert([newTask(kbId)]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await t.prisma.task.count({ where: { kbId } })).toBe(3);
  });

  it('hands a task to one claimer only and keeps the attempt guard inside a shared completion', async () => {
    const kbId = kbs.kb('coalesce_claim');
    const [a, b] = await tasks.insert([newTask(kbId), newTask(kbId)]);
    const claims = await Promise.all([
      tasks.claim(a.id, 'worker-1'),
      tasks.claim(a.id, 'worker-1'),
      tasks.claim(b.id, 'worker-2'),
    ]);
    const claimedA = claims.slice(0, 2).filter((c) => c !== null);
    expect(claimedA).toHaveLength(1);
    expect(claimedA[0]).toMatchObject({ id: a.id, status: TaskStatus.processing, attempt: 1, workerId: 'worker-1' });
    expect(claims[2]).toMatchObject({ id: b.id, status: TaskStatus.processing, attempt: 1, workerId: 'worker-2' });
    expect(claims[2]!.startedAt).toBeInstanceOf(Date);

    // A stale attempt (0) and the real one (1) complete in the same flush: only the real one counts.
    const [stale, real, other] = await Promise.all([
      tasks.complete(a.id, 0, { from: 'stale' }),
      tasks.complete(a.id, 1, { from: 'real' }),
      tasks.complete(b.id, 1, null),
    ]);
    expect([stale, real, other]).toEqual([false, true, true]);
    const stored = await t.prisma.task.findMany({ where: { kbId }, orderBy: { createdAt: 'asc' } });
    const byId = new Map(stored.map((row) => [row.id, row]));
    expect(byId.get(a.id)).toMatchObject({ status: TaskStatus.completed, result: { from: 'real' }, progress: 100 });
    expect(byId.get(b.id)).toMatchObject({ status: TaskStatus.completed, result: null });
    // Completing again changes nothing: the task is no longer processing.
    expect(await tasks.complete(a.id, 1, { from: 'again' })).toBe(false);
  });

  it('reads back by id exactly what Prisma reads', async () => {
    const kbId = kbs.kb('coalesce_read');
    const [created] = await tasks.insert([
      newTask(kbId, { scheduleFor: new Date(Date.now() + 60_000), callbackUrl: 'https://example.com/hook' }),
    ]);
    const viaPrisma = await t.prisma.task.findUniqueOrThrow({ where: { id: created.id } });
    const viaSql = await reads.findById(created.id);
    expect(viaSql).toEqual(toTaskRecord(viaPrisma));
    expect(created).toEqual(viaSql);
  });
});
