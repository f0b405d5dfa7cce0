import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import request from 'supertest';
import { ConcurrencyCapsService } from '../../src/queues/concurrency-caps.service';
import { KbFairTags } from '../../src/queues/kb-fair-tags';
import { priorityBand } from '../../src/task-types/task-types';
import { taskRequest } from '../factories/task.factory';
import { createTestApp, deleteRedisKeys, TestApp, uniqueKb, waitFor } from '../setup/test-app';
import { TEST_REDIS_URL } from '../setup/test-env';

/** The lightest task (one Redis PING): the backlog lasts because there are many, not because each is slow. */
const LIGHT_PAYLOAD = { checks: ['redis'] };
/** A task that holds its worker slot a little longer (every probe once), so capped tasks overlap. */
const CAPPED_PAYLOAD = {};

async function queueTasks(t: TestApp, kb: string, count: number, payload: object): Promise<void> {
  for (let sent = 0; sent < count; sent += 1000) {
    const items = Array.from({ length: Math.min(1000, count - sent) }, () => taskRequest({ kb_id: kb, payload }));
    await request(t.http).post('/api/v1/tasks/batch').send(items).expect(201);
  }
}

function countWhere(t: TestApp, kb: string, status: 'queued' | 'completed'): Promise<number> {
  return t.prisma.task.count({ where: { kbId: kb, status } });
}

/** Queue latency (created → started) of each of a kb's tasks, in ms. */
async function queueLatencies(t: TestApp, kb: string): Promise<number[]> {
  const tasks = await t.prisma.task.findMany({ where: { kbId: kb }, select: { createdAt: true, startedAt: true } });
  return tasks.map((task) => (task.startedAt ?? new Date()).getTime() - task.createdAt.getTime());
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)];
}

describe('Fair scheduling between knowledge bases (e2e)', () => {
  describe('fair dispatch within a priority', () => {
    let t: TestApp;
    const kbA = uniqueKb('fair_a');
    const kbB = uniqueKb('fair_b');

    beforeAll(async () => {
      t = await createTestApp({
        WORKER_CONCURRENCY: '50',
        KB_FAIR_DISPATCH: 'true',
        KB_MAX_CONCURRENCY: '0',
        TASK_TYPE_MAX_CONCURRENCY: '',
      });
    });

    afterAll(async () => {
      await request(t.http).post('/api/v1/tasks/bulk/cancel').send({ kb_id: kbA, status: 'queued' });
      await t.close();
    });

    it('ranks the waiting tasks of two kbs in turns within a priority, and a higher priority before both', async () => {
      const kbX = uniqueKb('turns_x');
      const kbY = uniqueKb('turns_y');
      await request(t.http).post('/api/v1/queues/health_check/pause').expect(200);
      try {
        const create = async (kb: string, priority = 'normal'): Promise<string> =>
          (
            await request(t.http)
              .post('/api/v1/tasks')
              .send(taskRequest({ kb_id: kb, priority, payload: LIGHT_PAYLOAD }))
              .expect(201)
          ).body.id as string;
        const x: string[] = [];
        for (let i = 0; i < 6; i++) x.push(await create(kbX));
        const y: string[] = [];
        for (let i = 0; i < 3; i++) y.push(await create(kbY));
        const urgent = await create(kbX, 'critical');
        const position = async (id: string): Promise<number> =>
          (await request(t.http).get(`/api/v1/tasks/${id}`).expect(200)).body.queue_position as number;
        expect(await position(urgent)).toBe(1);
        // kb Y arrived after all six of kb X's, yet takes every other turn (FIFO would rank it 8, 9, 10).
        expect(await Promise.all(y.map(position))).toEqual([3, 5, 7]);
        expect(await Promise.all(x.map(position))).toEqual([2, 4, 6, 8, 9, 10]);
        const info = await request(t.http).get('/api/v1/queues/info').query({ task_type: 'health_check' }).expect(200);
        expect(info.body.queue_size).toBe(10);
      } finally {
        await request(t.http).post('/api/v1/queues/health_check/resume').expect(200);
        for (const kb of [kbX, kbY])
          await request(t.http).post('/api/v1/tasks/bulk/cancel').send({ kb_id: kb, status: 'queued' });
      }
    });

    it("runs a small kb's tasks between a large kb's backlog instead of after it", async () => {
      await queueTasks(t, kbA, 2000, LIGHT_PAYLOAD);
      await queueTasks(t, kbB, 100, LIGHT_PAYLOAD);

      await waitFor(
        () => countWhere(t, kbB, 'completed'),
        (done) => done === 100,
        { timeoutMs: 15000, intervalMs: 50, what: "kb B's 100 tasks to complete" },
      );
      // B finished while A's backlog still waits: B did not queue behind it.
      expect(await countWhere(t, kbA, 'queued')).toBeGreaterThan(500);

      await waitFor(
        () => countWhere(t, kbA, 'completed'),
        (done) => done === 2000,
        { timeoutMs: 30000, intervalMs: 100, what: "kb A's 2,000 tasks to complete" },
      );
      const latencyA = p99(await queueLatencies(t, kbA));
      const latencyB = p99(await queueLatencies(t, kbB));
      expect(latencyB).toBeLessThan(2000);
      expect(latencyB * 3).toBeLessThan(latencyA);
    });
  });

  describe('concurrency caps', () => {
    let t: TestApp;
    const kbA = uniqueKb('cap_a');
    const kbB = uniqueKb('cap_b');
    const KB_CAP = 3;
    const TYPE_CAP = 5;

    beforeAll(async () => {
      t = await createTestApp({
        WORKER_CONCURRENCY: '10',
        KB_FAIR_DISPATCH: 'true',
        KB_MAX_CONCURRENCY: String(KB_CAP),
        TASK_TYPE_MAX_CONCURRENCY: `health_check:${TYPE_CAP},document_processing:1`,
        WORKER_LOCK_DURATION_MS: '3000',
      });
    });

    afterAll(async () => {
      await t.close();
    });

    it('never runs more than the kb and type caps at once, and a postponed job loses no attempt', async () => {
      await queueTasks(t, kbA, 100, CAPPED_PAYLOAD);
      await queueTasks(t, kbB, 40, CAPPED_PAYLOAD);

      const peak = { [kbA]: 0, [kbB]: 0, total: 0 };
      let done = false;
      const sampler = (async () => {
        while (!done) {
          const running = await t.prisma.task.groupBy({
            by: ['kbId'],
            where: { kbId: { in: [kbA, kbB] }, status: 'processing' },
            _count: { _all: true },
          });
          let total = 0;
          for (const row of running) {
            peak[row.kbId] = Math.max(peak[row.kbId], row._count._all);
            total += row._count._all;
          }
          peak.total = Math.max(peak.total, total);
          // Pacing only (a sample every ~5 ms), not a wait for an outcome.
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      try {
        await waitFor(
          async () => (await countWhere(t, kbA, 'completed')) + (await countWhere(t, kbB, 'completed')),
          (completed) => completed === 140,
          { timeoutMs: 20000, intervalMs: 100, what: 'all 140 capped tasks to complete' },
        );
      } finally {
        done = true;
        await sampler;
      }
      expect(peak[kbA]).toBeLessThanOrEqual(KB_CAP);
      expect(peak[kbB]).toBeLessThanOrEqual(KB_CAP);
      expect(peak.total).toBeLessThanOrEqual(TYPE_CAP);
      // The caps were reached, so the bounds above were tested, not idle.
      expect(peak[kbA]).toBe(KB_CAP);
      expect(peak.total).toBe(TYPE_CAP);
      // Jobs put back over a cap ran once each: postponing is not an attempt.
      expect(await t.prisma.task.count({ where: { kbId: { in: [kbA, kbB] }, attempt: { not: 1 } } })).toBe(0);
    });

    it('frees a slot its holder never released once it lapses, and lets a holder acquire again', async () => {
      const caps = t.app.get(ConcurrencyCapsService);
      const kb = uniqueKb('cap_lapse');
      const slot = (taskId: string) => ({ taskId, kbId: kb, taskType: 'document_processing' as const });

      expect(await caps.tryAcquire(slot('one'), { holdForMs: 300 })).toBe(true);
      expect(await caps.tryAcquire(slot('one'), { holdForMs: 300 })).toBe(true);
      // document_processing is capped at 1: a second task waits until the first's slot lapses.
      expect(await caps.tryAcquire(slot('two'), { holdForMs: 300 })).toBe(false);
      await waitFor(
        () => caps.tryAcquire(slot('two'), { holdForMs: 5000 }),
        (acquired) => acquired,
        { timeoutMs: 3000, intervalMs: 50, what: 'the lapsed slot to be free' },
      );
      await caps.release(slot('two'));
      expect(await caps.tryAcquire(slot('three'))).toBe(true);
      await caps.release(slot('three'));
    });
  });

  describe('fair tags in a band that never empties', () => {
    const prefix = `tmtest_fair_${randomBytes(4).toString('hex')}`;
    const redis = new Redis(TEST_REDIS_URL);
    const queue = new Queue('health_check', {
      connection: new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null }),
      prefix,
    });
    // Rebased as soon as the virtual time reaches 4 (half the band in production).
    const tags = new KbFairTags(redis, prefix, true, 4);
    const normal = priorityBand('normal').first;

    afterAll(async () => {
      await queue.close();
      await (await queue.client).quit();
      redis.disconnect();
      await deleteRedisKeys(prefix);
    });

    const add = async (kbId: string): Promise<{ id: string; priority: number }> => {
      const [priority] = await tags.priorities('health_check', queue.keys.prioritized, [{ kbId, priority: 'normal' }]);
      const job = await queue.add('health_check', { taskId: 'none', kbId }, { priority });
      return { id: job.id!, priority };
    };

    it("moves the waiting jobs and the kbs' tags down together, keeping their order", async () => {
      await queue.pause();
      const x = [];
      for (let i = 0; i < 6; i++) x.push(await add('kb_x'));
      expect(x.map((job) => job.priority - normal)).toEqual([0, 1, 2, 3, 4, 5]);
      // Five of them ran: the band's head (virtual time) is x[5]'s tag, 5.
      for (const job of x.slice(0, 5)) await queue.remove(job.id);

      const y = await add('kb_y');
      // Rebased by 5: x[5] now holds tag 0, and kb y starts there too, after it (arrival order).
      expect(y.priority - normal).toBe(0);
      expect((await queue.getJob(x[5].id))?.priority).toBe(normal);
      expect((await add('kb_x')).priority - normal).toBe(1);
      const order = await redis.zrange(queue.keys.prioritized, 0, -1);
      expect(order.slice(0, 2)).toEqual([x[5].id, y.id]);
    });
  });
});
