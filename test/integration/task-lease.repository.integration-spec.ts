import type { PrismaService } from '../../src/prisma/prisma.service';
import { TaskLeaseRepository } from '../../src/task-engine/task-lease.repository';
import { TaskType } from '../../src/task-types/task-types';
import { uniqueKb, waitFor } from '../setup/helpers';
import { deleteKbTasks, insertTask, testPrisma } from '../setup/integration-db';

/**
 * The lease SQL where it lives: which due tasks a lease picks and in what order (priority,
 * then round-robin between kbs), that concurrent leases never share a task, and how an
 * expired lease ends (requeued while attempts are left, then failed).
 */
describe('TaskLeaseRepository', () => {
  let prisma: PrismaService;
  let leases: TaskLeaseRepository;
  const kbA = uniqueKb('lease_a');
  const kbB = uniqueKb('lease_b');
  const kbRace = uniqueKb('lease_race');
  const kbExpiry = uniqueKb('lease_expiry');
  const type = TaskType.vector_storage;
  const queued = (kbId: string, priority = 'normal') =>
    insertTask(prisma, { kbId, taskType: type, priority, status: 'queued' });
  const lease = (kbIds: string[], maxTasks: number, leaseSeconds = 60, workerId = 'integration') =>
    leases.lease({ workerId, taskTypes: [type], kbIds, maxTasks, leaseSeconds });

  beforeAll(() => {
    prisma = testPrisma();
    leases = new TaskLeaseRepository(prisma);
  });

  afterAll(async () => {
    await deleteKbTasks(prisma, [kbA, kbB, kbRace, kbExpiry]);
    await prisma.onApplicationShutdown();
  });

  it('leases higher priority first, then each kb’s oldest task before any kb’s second; never a task not yet due', async () => {
    const a = [await queued(kbA), await queued(kbA), await queued(kbA)];
    const b = await queued(kbB);
    const urgent = await queued(kbA, 'critical');
    const later = await queued(kbB);
    await prisma.pool.query(`UPDATE tasks SET schedule_for = now() + interval '1 hour' WHERE id = $1`, [later]);
    // Inserted faster than created_at's milliseconds tell apart: ages one second apart, kb b's task the youngest.
    await prisma.pool.query(
      `UPDATE tasks SET created_at = now() - make_interval(secs => 10 - array_position($1::uuid[], id)) WHERE id = ANY($1::uuid[])`,
      [[...a, b, urgent, later]],
    );

    // Three of them: kb a's backlog is older, yet kb b's one task is among them.
    const leased = await lease([kbA, kbB], 3);
    expect(leased.map(({ task }) => task.id)).toEqual([urgent, a[0], b]);
    expect((await lease([kbA, kbB], 10)).map(({ task }) => task.id)).toEqual([a[1], a[2]]);
    for (const { task, leaseToken, leaseExpiresAt } of leased) {
      expect(task).toMatchObject({ status: 'processing', attempt: 1, workerId: 'integration' });
      expect(leaseToken).toMatch(/^[0-9a-f-]{36}$/);
      expect(leaseExpiresAt.getTime()).toBeGreaterThan(Date.now() + 50_000);
    }
    expect(await lease([kbA, kbB], 10)).toEqual([]);
  });

  it('never gives one task to two concurrent leases', async () => {
    const total = 40;
    for (let i = 0; i < total; i++) await queued(kbRace);
    const seen: string[] = [];
    for (let round = 0; round < 10 && seen.length < total; round++) {
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => lease([kbRace], 5, 60, `racer-${i}`)));
      for (const answer of answers) seen.push(...answer.map(({ task }) => task.id));
    }
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
  });

  it('ends an expired lease as a failed attempt: requeued while the task has retries left, then failed', async () => {
    const id = await queued(kbExpiry);
    await prisma.pool.query('UPDATE tasks SET max_retries = 1 WHERE id = $1', [id]);
    const expireOwn = async () => (await leases.expire(100)).filter(({ task }) => task.id === id);

    const [first] = await lease([kbExpiry], 1, 0.05);
    const [requeued] = await waitFor(expireOwn, (ended) => ended.length === 1, { what: 'the first lease to expire' });
    expect(requeued).toMatchObject({ requeued: true, task: { status: 'queued', retryCount: 1, workerId: null } });
    expect(await leases.leaseState(id)).toEqual({
      status: 'queued',
      leaseToken: first.leaseToken,
      leaseRunning: false,
    });
    expect(await leases.renew(id, first.leaseToken, 60, null, null)).toBeNull();

    const [second] = await lease([kbExpiry], 1, 0.05);
    expect(second.task.attempt).toBe(2);
    const [failed] = await waitFor(expireOwn, (ended) => ended.length === 1, { what: 'the second lease to expire' });
    expect(failed).toMatchObject({ requeued: false, task: { status: 'failed' } });
    expect(failed.task.errorMessage).toMatch(/Lease expired: worker integration/);
    expect(await leases.complete(id, second.leaseToken, { late: true })).toBeNull();
  });
});
