import type { PrismaService } from '../../src/prisma/prisma.service';
import { uniqueKb } from '../setup/helpers';
import { deleteKbTasks, insertTask, testPrisma } from '../setup/integration-db';

/**
 * The triggers on `tasks` (prisma/migrations): statement-level counters in task_counters, the
 * task_events history and webhook outbox, and tasks.document_id. Tasks are written in plain
 * SQL, one kb per test, so what is checked is the schema's behaviour, not a repository's.
 */
describe('Triggers on tasks', () => {
  let prisma: PrismaService;
  const kbs: string[] = [];
  const kb = (label: string) => {
    const id = uniqueKb(label);
    kbs.push(id);
    return id;
  };
  const sql = async <T extends object>(text: string, params: unknown[] = []) =>
    (await prisma.pool.query<T>(text, params)).rows;

  /** Non-zero counter sums of a kb, keyed `status/task_type`. */
  const counters = async (kbId: string) => {
    const rows = await sql<{ key: string; count: number; run_ms_sum: number; run_count: number }>(
      `SELECT status || '/' || task_type AS key, sum(count)::int AS count, sum(run_ms_sum)::int AS run_ms_sum, sum(run_count)::int AS run_count
       FROM task_counters WHERE kb_id = $1 GROUP BY 1 HAVING sum(count) <> 0 ORDER BY 1`,
      [kbId],
    );
    return Object.fromEntries(rows.map((r) => [r.key, { count: r.count, runMs: r.run_ms_sum, runs: r.run_count }]));
  };

  const events = (taskId: string) =>
    sql<{
      kind: string;
      status: string;
      progress: number;
      message: string | null;
      attempt: number;
      error: string | null;
      webhook_pending: boolean;
    }>(
      'SELECT kind, status, progress, message, attempt, error, webhook_pending FROM task_events WHERE task_id = $1 ORDER BY id',
      [taskId],
    );

  beforeAll(() => {
    prisma = testPrisma();
  });

  afterAll(async () => {
    await deleteKbTasks(prisma, kbs);
    await prisma.onApplicationShutdown();
  });

  describe('task_counters', () => {
    it('counts a multi-row insert, each transition, the run time of completed tasks, and deletes', async () => {
      const k = kb('counters');
      await sql(
        `INSERT INTO tasks (task_type, kb_id, status, payload)
         SELECT t::task_type, $1, 'queued', '{}' FROM unnest(ARRAY['health_check', 'health_check', 'vector_storage']) AS t`,
        [k],
      );
      expect(await counters(k)).toEqual({
        'queued/health_check': { count: 2, runMs: 0, runs: 0 },
        'queued/vector_storage': { count: 1, runMs: 0, runs: 0 },
      });

      await sql(`UPDATE tasks SET status = 'processing', started_at = '2026-01-01T00:00:00Z' WHERE kb_id = $1`, [k]);
      await sql(
        `UPDATE tasks SET status = 'completed', completed_at = '2026-01-01T00:00:01.500Z' WHERE kb_id = $1 AND task_type = 'health_check'`,
        [k],
      );
      expect(await counters(k)).toEqual({
        'completed/health_check': { count: 2, runMs: 3000, runs: 2 },
        'processing/vector_storage': { count: 1, runMs: 0, runs: 0 },
      });

      // Progress reports and heartbeat-like touches change no counted column.
      await sql(`UPDATE tasks SET progress = 50, progress_message = 'half', updated_at = now() WHERE kb_id = $1`, [k]);
      expect(Object.keys(await counters(k))).toEqual(['completed/health_check', 'processing/vector_storage']);

      await sql(`DELETE FROM tasks WHERE kb_id = $1 AND status = 'completed'`, [k]);
      expect(await counters(k)).toEqual({ 'processing/vector_storage': { count: 1, runMs: 0, runs: 0 } });
    });

    it('empties every counter when tasks are truncated (checked inside a transaction that is rolled back)', async () => {
      await insertTask(prisma, { kbId: kb('truncate') });
      const client = await prisma.pool.connect();
      try {
        await client.query('BEGIN');
        // The shared test database keeps its rows: nothing here is committed.
        await client.query(`SET LOCAL lock_timeout = '10s'`);
        await client.query('TRUNCATE tasks CASCADE');
        const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM task_counters');
        expect(rows[0].n).toBe(0);
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    });
  });

  describe('task_events', () => {
    it('records one created event per inserted task, even for a multi-row insert', async () => {
      const k = kb('events_insert');
      const ids = await sql<{ id: string }>(
        `INSERT INTO tasks (task_type, kb_id, payload) SELECT 'health_check', $1, '{}' FROM generate_series(1, 3) RETURNING id`,
        [k],
      );
      for (const { id } of ids) {
        expect(await events(id)).toEqual([
          {
            kind: 'created',
            status: 'queued',
            progress: 0,
            message: null,
            attempt: 0,
            error: null,
            webhook_pending: false,
          },
        ]);
      }
    });

    it('records status and progress changes, with the error on the event that ends a failed attempt, and nothing for touches', async () => {
      const id = await insertTask(prisma, { kbId: kb('events_update'), status: 'queued' });
      await sql(`UPDATE tasks SET status = 'processing', attempt = 1, worker_id = 'w1' WHERE id = $1`, [id]);
      await sql(`UPDATE tasks SET progress = 40, progress_message = 'chunking' WHERE id = $1`, [id]);
      await sql(`UPDATE tasks SET updated_at = now() + interval '1 second' WHERE id = $1`, [id]);
      await sql(`UPDATE tasks SET status = 'queued', error_message = 'boom', retry_count = 1 WHERE id = $1`, [id]);
      await sql(`UPDATE tasks SET status = 'processing', attempt = 2 WHERE id = $1`, [id]);
      await sql(`UPDATE tasks SET status = 'failed', error_message = 'boom again' WHERE id = $1`, [id]);
      expect(
        (await events(id)).map(({ kind, status, progress, message, attempt, error }) => ({
          kind,
          status,
          progress,
          message,
          attempt,
          error,
        })),
      ).toEqual([
        { kind: 'created', status: 'queued', progress: 0, message: null, attempt: 0, error: null },
        { kind: 'status', status: 'processing', progress: 0, message: null, attempt: 1, error: null },
        { kind: 'progress', status: 'processing', progress: 40, message: 'chunking', attempt: 1, error: null },
        { kind: 'status', status: 'queued', progress: 40, message: 'chunking', attempt: 1, error: 'boom' },
        { kind: 'status', status: 'processing', progress: 40, message: 'chunking', attempt: 2, error: null },
        { kind: 'status', status: 'failed', progress: 40, message: 'chunking', attempt: 2, error: 'boom again' },
      ]);
    });

    it('marks the webhook outbox on the terminal transition of a task with a callback, once', async () => {
      const k = kb('events_webhook');
      const withCallback = await insertTask(prisma, {
        kbId: k,
        status: 'processing',
        callbackUrl: 'http://127.0.0.1:9/hook',
      });
      const without = await insertTask(prisma, { kbId: k, status: 'processing' });
      await sql(`UPDATE tasks SET status = 'completed', completed_at = now() WHERE kb_id = $1`, [k]);
      await sql(`UPDATE tasks SET progress = 100 WHERE kb_id = $1`, [k]);
      expect((await events(withCallback)).map((e) => [e.kind, e.webhook_pending])).toEqual([
        ['created', false],
        ['status', true],
        ['progress', false],
      ]);
      expect((await events(without)).some((e) => e.webhook_pending)).toBe(false);
      const finishedAtInsert = await insertTask(prisma, {
        kbId: k,
        status: 'cancelled',
        callbackUrl: 'http://127.0.0.1:9/hook',
      });
      expect((await events(finishedAtInsert)).map((e) => e.webhook_pending)).toEqual([true]);
    });
  });

  describe('tasks.document_id', () => {
    const documentIdOf = async (id: string) =>
      (await sql<{ document_id: string | null }>('SELECT document_id FROM tasks WHERE id = $1', [id]))[0].document_id;

    it('takes the payload’s document_id on insert, then a result’s, and keeps it when a result has none', async () => {
      const k = kb('document_id');
      const id = await insertTask(prisma, {
        kbId: k,
        taskType: 'embedding_generation',
        status: 'queued',
        payload: { document_id: 'doc-from-payload' },
      });
      expect(await documentIdOf(id)).toBe('doc-from-payload');
      await sql(`UPDATE tasks SET result = '{"document_id": "doc-from-result"}' WHERE id = $1`, [id]);
      expect(await documentIdOf(id)).toBe('doc-from-result');
      await sql(`UPDATE tasks SET result = '{"chunks": 3}' WHERE id = $1`, [id]);
      expect(await documentIdOf(id)).toBe('doc-from-result');
      expect(await documentIdOf(await insertTask(prisma, { kbId: k }))).toBeNull();
    });

    it('cuts a document id to 200 characters', async () => {
      const id = await insertTask(prisma, { kbId: kb('document_id_long'), payload: { document_id: 'd'.repeat(500) } });
      expect(await documentIdOf(id)).toBe('d'.repeat(200));
    });
  });
});
