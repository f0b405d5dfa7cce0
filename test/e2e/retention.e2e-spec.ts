import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { TaskRetentionService } from '../../src/tasks/task-retention.service';
import { taskRequest } from '../factories/task.factory';
import { createTestApp, TestApp, uniqueKb, waitFor } from '../setup/test-app';

describe('Retention (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ TASK_RETENTION_DAYS: '7' });
  });

  afterAll(async () => {
    await t.close();
  });

  it('deletes finished tasks past the retention period and expired idempotency keys, and keeps the rest', async () => {
    const kb = uniqueKb('retention');
    const created = await request(t.http)
      .post('/api/v1/tasks/batch')
      .send([
        taskRequest({ kb_id: kb }),
        taskRequest({ kb_id: kb }),
        taskRequest({ kb_id: kb, schedule_for: '2999-01-01T00:00:00Z' }),
      ])
      .expect(201);
    const [old, recent, waiting] = created.body.tasks.map((x: { id: string }) => x.id);
    await waitFor(
      () => t.prisma.task.count({ where: { id: { in: [old, recent] }, status: 'completed' } }),
      (n) => n === 2,
      { what: 'two tasks to complete' },
    );
    await t.prisma.task.update({ where: { id: old }, data: { completedAt: new Date(Date.now() - 8 * 86400 * 1000) } });
    const key = randomUUID();
    await t.prisma.idempotencyKey.create({
      data: {
        caller: 'anonymous',
        kbScope: kb,
        key,
        requestHash: 'x',
        kind: 'single',
        taskIds: [],
        expiresAt: new Date(Date.now() - 1000),
      },
    });

    const removed = await t.app.get(TaskRetentionService).sweep();

    expect(removed.tasks).toBeGreaterThanOrEqual(1);
    expect(removed.idempotencyKeys).toBeGreaterThanOrEqual(1);
    expect(await t.prisma.task.findUnique({ where: { id: old } })).toBeNull();
    expect(await t.prisma.task.findUnique({ where: { id: recent } })).not.toBeNull();
    expect(await t.prisma.task.findUnique({ where: { id: waiting } })).not.toBeNull();
    expect(await t.prisma.idempotencyKey.findFirst({ where: { key } })).toBeNull();
    await request(t.http).get(`/api/v1/tasks/${old}`).expect(404);
    await request(t.http).delete(`/api/v1/tasks/${waiting}`).expect(200);
  });
});
