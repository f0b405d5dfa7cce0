import { Pool, PoolClient } from 'pg';
import request from 'supertest';
import { AppRole } from '../../src/config/env.validation';
import { TaskRetentionService } from '../../src/tasks/task-retention.service';
import { taskRequest } from '../factories/task.factory';
import { createTestApp, TestApp, KbTracker } from '../setup/test-app';
import { TEST_DATABASE_URL } from '../setup/test-env';

/** Every kb these tests make; their tasks are deleted afterwards. */
const kbs = new KbTracker();

type Body = Record<string, any>;

const TYPES = [
  'document_processing',
  'batch_processing',
  'knowledge_indexing',
  'embedding_generation',
  'vector_storage',
  'health_check',
];
const PRIORITIES = ['low', 'normal', 'high', 'critical'];
const STATUSES = ['queued', 'processing', 'completed', 'failed', 'cancelled'];
/** Far-future tasks are only ever dispatched as delayed jobs, so no worker (of any test run sharing the database) touches them. */
const FAR_FUTURE = '2999-01-01T00:00:00.000Z';
const CONNECTIONS = 4;

/**
 * task_counters is kept by statement-level triggers on tasks; these tests drive every kind
 * of writer against one kb — the API, worker-like multi-row UPDATEs from several connections
 * at once, retries, cancels, retention's DELETE — and check the counters against a count
 * over the tasks themselves, and the endpoints that read them against SQL.
 */
describe('Task counters (e2e)', () => {
  let t: TestApp;
  let pool: Pool;

  beforeAll(async () => {
    // API role: no worker of this app runs the tasks; the tests move them through their
    // states in SQL as workers do. The reconciler's periodic pass stays out of the way.
    t = await createTestApp({ TASK_RETENTION_DAYS: '7', RECONCILE_INTERVAL_MS: '3600000' }, AppRole.Api);
    pool = new Pool({ connectionString: TEST_DATABASE_URL, max: CONNECTIONS });
  });

  afterAll(async () => {
    await pool.query('DELETE FROM tasks WHERE kb_id = ANY($1)', [kbs.ids]);
    await pool.end();
    await t.close();
  });

  /** Inserts `n` queued tasks in one statement, cycling through types and priorities from `offset`. */
  const insertTasks = async (db: Pool | PoolClient, kb: string, n: number, offset = 0): Promise<string[]> => {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO tasks (task_type, kb_id, priority, payload, schedule_for)
       SELECT ($2::text[])[1 + (i + $4) % 6]::task_type, $1, ($3::text[])[1 + (i + $4) % 4]::task_priority, '{}', $5::timestamptz
       FROM generate_series(1, $6::int) AS i
       RETURNING id`,
      [kb, TYPES, PRIORITIES, offset, FAR_FUTURE, n],
    );
    return rows.map((r) => r.id);
  };

  /**
   * One worker-like statement moving many tasks at once (`UPDATE … FROM unnest(…)`), each to
   * its own status with the timestamps a worker would write; run times differ per task.
   */
  const transition = async (db: Pool | PoolClient, moves: [id: string, status: string][]): Promise<number> => {
    const result = await db.query(
      `UPDATE tasks t SET
         status = m.status::task_status,
         started_at = CASE m.status WHEN 'queued' THEN NULL WHEN 'processing' THEN now() - (m.n % 977) * interval '7 ms' ELSE t.started_at END,
         completed_at = CASE WHEN m.status IN ('completed', 'failed', 'cancelled') THEN now() END,
         attempt = t.attempt + (m.status = 'processing')::int,
         updated_at = now()
       FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS m(id, status, n)
       WHERE t.id = m.id`,
      [moves.map(([id]) => id), moves.map(([, status]) => status)],
    );
    return result.rowCount ?? 0;
  };

  /** Rows where task_counters and a GROUP BY over tasks disagree, both read in one snapshot. */
  const counterMismatches = async (kbs: string[]): Promise<Body[]> => {
    const { rows } = await pool.query(
      `WITH truth AS (
         SELECT kb_id, task_type, priority, status, count(*) AS count,
                coalesce(sum(round(extract(epoch FROM completed_at - started_at) * 1000)) FILTER (WHERE status = 'completed'), 0) AS run_ms_sum,
                count(completed_at - started_at) FILTER (WHERE status = 'completed') AS run_count
         FROM tasks WHERE kb_id = ANY($1) GROUP BY 1, 2, 3, 4
       ), counters AS (
         -- A key's shards (one per writing connection) summed, as the readers do.
         SELECT kb_id, task_type, priority, status, sum(count) AS count, sum(run_ms_sum) AS run_ms_sum, sum(run_count) AS run_count
         FROM task_counters WHERE kb_id = ANY($1)
         GROUP BY 1, 2, 3, 4
         HAVING sum(count) <> 0 OR sum(run_ms_sum) <> 0 OR sum(run_count) <> 0
       )
       SELECT kb_id, task_type, priority, status,
              t.count::int AS expected_count, c.count::int AS counted,
              t.run_ms_sum::bigint::text AS expected_run_ms, c.run_ms_sum::bigint::text AS counted_run_ms,
              t.run_count::int AS expected_runs, c.run_count::int AS counted_runs
       FROM truth t FULL JOIN counters c USING (kb_id, task_type, priority, status)
       WHERE t.count IS DISTINCT FROM c.count::bigint OR t.run_ms_sum IS DISTINCT FROM c.run_ms_sum OR t.run_count IS DISTINCT FROM c.run_count::bigint`,
      [kbs],
    );
    return rows;
  };

  /** What GET /stats/tasks answered before the counters: a GROUP BY and an average over the kb's tasks. */
  const statsFromTasks = async (kb: string): Promise<Body> => {
    const { rows: groups } = await pool.query<{ status: string; task_type: string; n: number }>(
      'SELECT status, task_type, count(*)::int AS n FROM tasks WHERE kb_id = $1 GROUP BY 1, 2',
      [kb],
    );
    const {
      rows: [timing],
    } = await pool.query<{ avg: number | null }>(
      `SELECT avg(extract(epoch FROM completed_at - started_at))::float8 AS avg
       FROM tasks WHERE status = 'completed' AND started_at IS NOT NULL AND kb_id = $1`,
      [kb],
    );
    const status_breakdown: Record<string, number> = Object.fromEntries(STATUSES.map((s) => [s, 0]));
    const type_breakdown: Record<string, number> = {};
    for (const g of groups) {
      status_breakdown[g.status] += g.n;
      type_breakdown[g.task_type] = (type_breakdown[g.task_type] ?? 0) + g.n;
    }
    const finished = status_breakdown.completed + status_breakdown.failed;
    return {
      total_tasks: groups.reduce((a, g) => a + g.n, 0),
      queued_tasks: status_breakdown.queued,
      processing_tasks: status_breakdown.processing,
      completed_tasks: status_breakdown.completed,
      failed_tasks: status_breakdown.failed,
      cancelled_tasks: status_breakdown.cancelled,
      avg_process_time: Math.round((timing.avg ?? 0) * 1000) / 1000,
      success_rate: finished === 0 ? 0 : Math.round((status_breakdown.completed / finished) * 1000) / 10,
      status_breakdown,
      type_breakdown,
    };
  };

  const sqlCount = async (where: string, params: unknown[]): Promise<number> =>
    (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM tasks WHERE ${where}`, params)).rows[0].n;

  const listTotal = async (query: Record<string, string>): Promise<number> =>
    (
      await request(t.http)
        .get('/api/v1/tasks')
        .query({ page: 1, page_size: 20, ...query })
        .expect(200)
    ).body.pagination.total;

  const statusesOf = async (ids: string[]): Promise<Map<string, string>> => {
    const { rows } = await pool.query<{ id: string; status: string }>(
      'SELECT id, status FROM tasks WHERE id = ANY($1::uuid[])',
      [ids],
    );
    return new Map(rows.map((r) => [r.id, r.status]));
  };

  it('count nothing for a kb without tasks', async () => {
    const kb = kbs.kb('counters_empty');
    expect(await counterMismatches([kb])).toEqual([]);
    expect((await request(t.http).get('/api/v1/stats/tasks').query({ kb_id: kb }).expect(200)).body).toEqual(
      await statsFromTasks(kb),
    );
    expect(await listTotal({ kb_id: kb, status: 'completed' })).toBe(0);
  });

  it('match a count over the tasks after inserts, multi-row and concurrent transitions, retries, cancels and deletes', async () => {
    const kb = kbs.kb('counters');
    const otherKb = kbs.kb('counters_moved');

    // The API's writes: one batch INSERT and single-row inserts.
    const batch = await request(t.http)
      .post('/api/v1/tasks/batch')
      .send(PRIORITIES.map((priority) => taskRequest({ kb_id: kb, priority, schedule_for: FAR_FUTURE })))
      .expect(201);
    const apiIds: string[] = batch.body.tasks.map((task: Body) => task.id);
    for (const priority of PRIORITIES) {
      apiIds.push(
        (
          await request(t.http)
            .post('/api/v1/tasks')
            .send(taskRequest({ kb_id: kb, priority, schedule_for: FAR_FUTURE }))
            .expect(201)
        ).body.id,
      );
    }

    // One multi-row INSERT of every type and priority, then worker-like multi-row transitions.
    const ids = await insertTasks(pool, kb, 240);
    expect(
      await transition(
        pool,
        ids.slice(0, 200).map((id) => [id, 'processing']),
      ),
    ).toBe(200);
    const finish = ids
      .slice(0, 200)
      .map((id, i): [string, string] => [id, ['completed', 'completed', 'failed', 'queued', 'processing'][i % 5]]);
    expect(await transition(pool, finish)).toBe(200);
    // Progress reports change no counted column: the trigger must write nothing for them.
    await pool.query(
      "UPDATE tasks SET progress = 50, progress_message = 'half', updated_at = now() WHERE kb_id = $1 AND status = 'processing'",
      [kb],
    );
    expect(await counterMismatches([kb])).toEqual([]);

    // Several connections at once, each its own tasks, every statement spanning many counter
    // keys of the same kb: counter rows are shared, and the statements must neither deadlock
    // nor lose an update.
    const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => pool.connect()));
    try {
      await Promise.all(
        clients.map(async (client, c) => {
          const own = await insertTasks(client, kb, 60, c);
          for (let round = 0; round < 8; round++) {
            await transition(
              client,
              own.map((id, i) => [id, STATUSES[(i * (c + 1) + round * (c + 2)) % STATUSES.length]]),
            );
            // Single-row statements interleaved with the multi-row ones, as the API writes.
            await transition(client, [[own[round], 'processing']]);
            await insertTasks(client, kb, 3, round + c);
          }
        }),
      );
    } finally {
      for (const client of clients) client.release();
    }
    expect(await counterMismatches([kb])).toEqual([]);

    // Cancels and retries through the API.
    for (const id of apiIds.slice(0, 3)) await request(t.http).delete(`/api/v1/tasks/${id}`).expect(200);
    await request(t.http).post(`/api/v1/tasks/${apiIds[0]}/retry`).expect(200);
    const failed = [...(await statusesOf(ids))].filter(([, status]) => status === 'failed').map(([id]) => id);
    expect(failed.length).toBeGreaterThan(2);
    for (const id of failed.slice(0, 2)) await request(t.http).post(`/api/v1/tasks/${id}/retry`).expect(200);

    // A task that moves to another kb leaves one kb's counters for the other's.
    await pool.query(
      "UPDATE tasks SET kb_id = $2 WHERE kb_id = $1 AND task_type = 'batch_processing' AND priority = 'high'",
      [kb, otherKb],
    );

    // Retention deletes finished tasks past the retention period, in one multi-row DELETE.
    const aged = await pool.query(
      `UPDATE tasks SET completed_at = now() - interval '8 days', started_at = now() - interval '8 days 3 seconds'
       WHERE kb_id = $1 AND status IN ('completed', 'failed', 'cancelled') AND priority IN ('low', 'critical')`,
      [kb],
    );
    expect(aged.rowCount).toBeGreaterThan(0);
    expect((await t.app.get(TaskRetentionService).sweep()).tasks).toBeGreaterThanOrEqual(aged.rowCount ?? 0);
    expect(await sqlCount("kb_id = $1 AND completed_at < now() - interval '7 days'", [kb])).toBe(0);
    // Every vector_storage task goes: its counter rows stay, at 0, and the type leaves type_breakdown.
    await pool.query("DELETE FROM tasks WHERE kb_id = $1 AND task_type = 'vector_storage'", [kb]);

    expect(await counterMismatches([kb, otherKb])).toEqual([]);
    // Non-trivial: the kb spans many keys, and emptied keys stay as rows at 0.
    expect(await sqlCount('kb_id = $1', [kb])).toBeGreaterThan(300);
    const { rows: zeroRows } = await pool.query(
      "SELECT count(*)::int AS n FROM task_counters WHERE kb_id = $1 AND task_type = 'vector_storage' AND count = 0",
      [kb],
    );
    expect(zeroRows[0].n).toBeGreaterThan(0);

    // The endpoints that read the counters answer what SQL over the tasks answers.
    const expected = await statsFromTasks(kb);
    expect(expected.type_breakdown).not.toHaveProperty('vector_storage');
    expect(expected.completed_tasks).toBeGreaterThan(0);
    expect(expected.avg_process_time).toBeGreaterThan(0);
    for (const [id, want] of [
      [kb, expected],
      [otherKb, await statsFromTasks(otherKb)],
    ] as const) {
      const body: Body = (await request(t.http).get('/api/v1/stats/tasks').query({ kb_id: id }).expect(200)).body;
      // The mean comes from integer milliseconds here and from exact seconds in SQL: both
      // round to the same 3 decimals but for a tie the two floats may break differently.
      expect(body).toEqual({ ...want, avg_process_time: expect.any(Number) });
      expect(Math.abs(body.avg_process_time - want.avg_process_time)).toBeLessThanOrEqual(0.001);
    }

    const keyFilters: [Record<string, string>, string, unknown[]][] = [
      [{ kb_id: kb }, 'kb_id = $1', [kb]],
      [{ kb_id: kb, status: 'completed' }, "kb_id = $1 AND status = 'completed'", [kb]],
      [{ kb_id: kb, status: 'queued' }, "kb_id = $1 AND status = 'queued'", [kb]],
      [
        { kb_id: kb, task_type: 'health_check', priority: 'high' },
        "kb_id = $1 AND task_type = 'health_check' AND priority = 'high'",
        [kb],
      ],
      [
        { kb_id: kb, status: 'failed', task_type: 'document_processing' },
        "kb_id = $1 AND status = 'failed' AND task_type = 'document_processing'",
        [kb],
      ],
      [{ kb_id: otherKb, status: 'processing' }, "kb_id = $1 AND status = 'processing'", [otherKb]],
      // Not a counter key: still counted over the tasks.
      [
        { kb_id: kb, status: 'completed', completed_after: new Date(Date.now() - 86400 * 1000).toISOString() },
        "kb_id = $1 AND status = 'completed' AND completed_at >= now() - interval '1 day'",
        [kb],
      ],
    ];
    for (const [query, where, params] of keyFilters) {
      expect({ query, total: await listTotal(query) }).toEqual({ query, total: await sqlCount(where, params) });
    }
  });

  it('ignore updates that change nothing counted, and follow a kb reassigned wholesale', async () => {
    const kb = kbs.kb('counters_bulk');
    const target = kbs.kb('counters_bulk_target');
    const ids = await insertTasks(pool, kb, 50);
    await transition(
      pool,
      ids.map((id, i) => [id, i % 2 ? 'processing' : 'queued']),
    );
    const before = (await pool.query('SELECT * FROM task_counters WHERE kb_id = $1 ORDER BY 2, 3, 4', [kb])).rows;
    // Touches every row without changing a counted column: the counters do not move.
    await pool.query('UPDATE tasks SET updated_at = now(), progress = 10 WHERE kb_id = $1', [kb]);
    expect((await pool.query('SELECT * FROM task_counters WHERE kb_id = $1 ORDER BY 2, 3, 4', [kb])).rows).toEqual(
      before,
    );
    await pool.query('UPDATE tasks SET kb_id = $2 WHERE kb_id = $1', [kb, target]);
    expect(await counterMismatches([kb, target])).toEqual([]);
    expect(await listTotal({ kb_id: kb })).toBe(0);
    expect(await listTotal({ kb_id: target, status: 'processing' })).toBe(25);
  });
});
