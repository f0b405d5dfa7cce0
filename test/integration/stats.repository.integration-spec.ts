import type { PrismaService } from '../../src/prisma/prisma.service';
import { StatsRepository } from '../../src/stats/stats.repository';
import { uniqueKb } from '../setup/helpers';
import { deleteKbTasks, insertTask, testPrisma } from '../setup/integration-db';

const DAY_MS = 86400_000;

describe('StatsRepository', () => {
  let prisma: PrismaService;
  let stats: StatsRepository;
  const kbA = uniqueKb('stats_a');
  const kbB = uniqueKb('stats_b');
  /** No other test finishes tasks in 2100: a count since then is this file's alone. */
  const future = new Date('2100-01-01T00:00:00Z');

  beforeAll(async () => {
    prisma = testPrisma();
    stats = new StatsRepository(prisma);
    const now = Date.now();
    await insertTask(prisma, {
      kbId: kbA,
      status: 'completed',
      startedAt: new Date(now - 3000),
      completedAt: new Date(now - 1000),
    });
    await insertTask(prisma, {
      kbId: kbA,
      status: 'completed',
      startedAt: new Date(now - 5000),
      completedAt: new Date(now - 2000),
    });
    await insertTask(prisma, {
      kbId: kbA,
      status: 'failed',
      taskType: 'vector_storage',
      completedAt: new Date(now - DAY_MS),
    });
    await insertTask(prisma, { kbId: kbA, status: 'cancelled', completedAt: new Date(now - 10 * DAY_MS) });
    await insertTask(prisma, { kbId: kbB, status: 'completed', completedAt: new Date(now - 1000) });
    await insertTask(prisma, {
      kbId: kbB,
      status: 'completed',
      startedAt: future,
      completedAt: new Date(future.getTime() + 1000),
    });
  });

  afterAll(async () => {
    await deleteKbTasks(prisma, [kbA, kbB]);
    await prisma.onApplicationShutdown();
  });

  it('sums the trigger-kept counters per status and task type, with the run time of completed tasks', async () => {
    const counts = await stats.countsByStatusAndType([kbA]);
    const nonZero = counts.filter((c) => c.count !== 0).sort((a, b) => a.status.localeCompare(b.status));
    expect(nonZero).toEqual([
      { status: 'cancelled', taskType: 'health_check', count: 1, runMsSum: 0, runCount: 0 },
      { status: 'completed', taskType: 'health_check', count: 2, runMsSum: 5000, runCount: 2 },
      { status: 'failed', taskType: 'vector_storage', count: 1, runMsSum: 0, runCount: 0 },
    ]);
  });

  it('sums several kbs together when given several', async () => {
    const counts = await stats.countsByStatusAndType([kbA, kbB]);
    const completed = counts.filter((c) => c.status === 'completed').reduce((sum, c) => sum + c.count, 0);
    expect(completed).toBe(4);
  });

  it('buckets finished tasks by completed_at over the last buckets, empty ones included', async () => {
    const points = await stats.finishedPerBucket([kbA], 'day', 3);
    expect(points).toHaveLength(3);
    expect(points.every((p) => p.at instanceof Date)).toBe(true);
    expect(points.map((p) => p.at.getTime())).toEqual([...points.map((p) => p.at.getTime())].sort((a, b) => a - b));
    // The cancelled task of ten days ago is outside the window; the three others are inside it.
    const totals = points.reduce(
      (t, p) => ({
        completed: t.completed + p.completed,
        failed: t.failed + p.failed,
        cancelled: t.cancelled + p.cancelled,
      }),
      {
        completed: 0,
        failed: 0,
        cancelled: 0,
      },
    );
    expect(totals).toEqual({ completed: 2, failed: 1, cancelled: 0 });
  });

  it('counts only the selected kbs in the series, and nothing after now', async () => {
    const points = await stats.finishedPerBucket([kbB], 'day', 3);
    expect(points.reduce((n, p) => n + p.completed + p.failed + p.cancelled, 0)).toBe(1);
  });

  it('counts the completed and failed tasks of every kb since a moment', async () => {
    expect(await stats.countFinishedSince(future)).toBe(1);
  });
});
