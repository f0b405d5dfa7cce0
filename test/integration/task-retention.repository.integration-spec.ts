import type { PrismaService } from '../../src/prisma/prisma.service';
import { TaskRetentionRepository } from '../../src/tasks/task-retention.repository';
import { uniqueKb } from '../setup/helpers';
import { deleteKbTasks, insertTask, testPrisma } from '../setup/integration-db';

describe('TaskRetentionRepository', () => {
  let prisma: PrismaService;
  let retention: TaskRetentionRepository;
  const kb = uniqueKb('retention');
  /** Long before any other test's tasks finished, so the sweep below removes only this file's. */
  const cutoff = new Date('2000-01-02T00:00:00Z');

  beforeAll(() => {
    prisma = testPrisma();
    retention = new TaskRetentionRepository(prisma);
  });

  afterAll(async () => {
    await deleteKbTasks(prisma, [kb]);
    await prisma.onApplicationShutdown();
  });

  it('deletes finished tasks completed before the cutoff, with their events, and keeps the rest', async () => {
    const old = new Date('2000-01-01T00:00:00Z');
    const doomed = [
      await insertTask(prisma, { kbId: kb, status: 'completed', completedAt: old }),
      await insertTask(prisma, { kbId: kb, status: 'failed', completedAt: old }),
      await insertTask(prisma, { kbId: kb, status: 'cancelled', completedAt: old }),
    ];
    const recent = await insertTask(prisma, {
      kbId: kb,
      status: 'completed',
      completedAt: new Date('2000-01-03T00:00:00Z'),
    });
    // A processing task with a stale completed_at (a retried task keeps its old one until it finishes) is not finished.
    const running = await insertTask(prisma, { kbId: kb, status: 'processing', completedAt: old });

    expect(await retention.deleteFinishedBefore(cutoff)).toBe(3);
    const { rows } = await prisma.pool.query<{ id: string }>('SELECT id FROM tasks WHERE kb_id = $1 ORDER BY id', [kb]);
    expect(rows.map((r) => r.id).sort()).toEqual([recent, running].sort());
    const events = await prisma.pool.query('SELECT 1 FROM task_events WHERE task_id = ANY($1::uuid[])', [doomed]);
    expect(events.rowCount).toBe(0);
  });

  it('removes nothing when nothing is old enough', async () => {
    expect(await retention.deleteFinishedBefore(cutoff)).toBe(0);
  });
});
