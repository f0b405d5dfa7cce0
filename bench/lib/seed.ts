import type { Pool } from 'pg';

/** Bumped when the seed's shape changes, so a kept seed of an older shape is rebuilt, not reused. */
export const SEED_VERSION = 2;
export const seedMarker = (rows: number): string => `task-manager bench seed v${SEED_VERSION}: ${rows} tasks`;

/** Rows per INSERT statement: big enough to be fast, small enough to report progress and stay bounded. */
const CHUNK = 100_000;

/**
 * Appends `count` tasks (numbered from `first`) with a production-like mix, in SQL on the
 * server — 1M rows take about a minute instead of the hours the API would need:
 * - 1,000 kbs with a skewed size (kb index = 1000·r², so the biggest holds ~3 % of all rows
 *   and the median one ~0.07 %);
 * - statuses 89 % completed, 7 % failed, 3.5 % cancelled, 0.5 % queued (created in the last
 *   10 minutes). No `processing` rows: the reconciler would requeue them (their worker is not
 *   alive), changing a seed that --keep-seed means to reuse unchanged;
 * - types and priorities in plausible proportions, payloads and results of realistic size;
 * - created_at spread over the last 7 days in insertion order (rows arrive in time order),
 *   queue waits of milliseconds to seconds, run times of 50 ms to 20 s.
 * `setseed` makes a given size reproducible.
 */
export async function seedTasks(
  pool: Pool,
  first: number,
  count: number,
  onProgress: (done: number) => void,
): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("SET statement_timeout = '10min'");
    await client.query('SELECT setseed($1)', [((first % 1000) + 1) / 1001]);
    for (let from = first; from < first + count; from += CHUNK) {
      const to = Math.min(first + count - 1, from + CHUNK - 1);
      await client.query(SEED_SQL, [from, to, first, count]);
      onProgress(to - first + 1);
    }
  } finally {
    client.release();
  }
}

const SEED_SQL = `
INSERT INTO tasks (task_type, kb_id, priority, status, payload, result, progress, progress_message,
                   retry_count, max_retries, attempt, timeout, error_message, worker_id,
                   created_at, updated_at, started_at, completed_at)
SELECT task_type::task_type, kb_id, priority::task_priority, status::task_status,
       CASE task_type
         WHEN 'health_check' THEN '{"checks": ["database", "redis"]}'::jsonb
         WHEN 'document_processing' THEN jsonb_build_object('file_path', 'docs/' || kb_id || '/report_' || g || '.pdf',
                                                            'chunk_size', 1000, 'chunk_overlap', 200, 'pipeline', r3 < 0.5)
         WHEN 'batch_processing' THEN jsonb_build_object('file_paths', jsonb_build_array('docs/a_' || g || '.md', 'docs/b_' || g || '.md'))
         ELSE jsonb_build_object('document_id', md5(g::text)::uuid)
       END,
       CASE WHEN status = 'completed' THEN
         CASE task_type
           WHEN 'health_check' THEN jsonb_build_object('status', 'healthy', 'checks',
                                     jsonb_build_object('database', jsonb_build_object('status', 'healthy', 'latency_ms', round((r5 * 3)::numeric, 2))))
           WHEN 'document_processing' THEN jsonb_build_object('document_id', md5(g::text)::uuid, 'format', 'pdf',
                                     'characters', (r5 * 200000)::int, 'pages', 1 + (r5 * 80)::int,
                                     'chunk_count', 1 + (r5 * 250)::int, 'content_hash', md5(kb_id || g), 'unchanged', false)
           ELSE jsonb_build_object('chunks', (r5 * 250)::int, 'embedded', (r5 * 250)::int, 'dimension', 384)
         END
       END,
       CASE status WHEN 'completed' THEN 100 WHEN 'failed' THEN (r5 * 60)::int ELSE 0 END,
       CASE WHEN status = 'cancelled' THEN 'Canceled by request' END,
       CASE WHEN status = 'failed' THEN 3 ELSE 0 END,
       3,
       CASE WHEN status = 'failed' THEN 4 WHEN status = 'completed' THEN 1 ELSE 0 END,
       300,
       CASE WHEN status = 'failed' THEN 'File not found: docs/' || kb_id || '/report_' || g || '.pdf' END,
       CASE WHEN status IN ('completed', 'failed') THEN 'worker-bench-' || (g % 8) END,
       created_at,
       coalesce(completed_at, started_at, created_at),
       started_at,
       completed_at
FROM (
  SELECT g, kb_id, task_type, priority, status, r3, r5, created_at, started_at,
         CASE WHEN status IN ('completed', 'failed') THEN started_at + run
              WHEN status = 'cancelled' THEN created_at + run END AS completed_at
  FROM (
    SELECT g, kb_id, task_type, priority, status, r3, r5, run,
           CASE WHEN status = 'queued' THEN now() - interval '10 minutes' * r6 ELSE created_at END AS created_at,
           CASE WHEN status IN ('completed', 'failed') THEN created_at + interval '1 millisecond' * (3 + 3000 * r6 ^ 8) END AS started_at
    FROM (
      SELECT g, r3, r5, r6,
             'kb_seed_' || lpad(floor(1000 * r1 ^ 2)::int::text, 4, '0') AS kb_id,
             CASE WHEN r2 < 0.10 THEN 'health_check' WHEN r2 < 0.45 THEN 'document_processing'
                  WHEN r2 < 0.65 THEN 'embedding_generation' WHEN r2 < 0.80 THEN 'vector_storage'
                  WHEN r2 < 0.95 THEN 'knowledge_indexing' ELSE 'batch_processing' END AS task_type,
             CASE WHEN r3 < 0.15 THEN 'low' WHEN r3 < 0.75 THEN 'normal' WHEN r3 < 0.95 THEN 'high' ELSE 'critical' END AS priority,
             CASE WHEN r4 < 0.89 THEN 'completed' WHEN r4 < 0.96 THEN 'failed' WHEN r4 < 0.995 THEN 'cancelled'
                  ELSE 'queued' END AS status,
             now() - interval '7 days' * (1 - (g - $3::int)::float8 / $4::int) + interval '1 second' * r5 AS created_at,
             interval '1 millisecond' * (50 + 20000 * r5 ^ 3) AS run
      FROM (
        SELECT g, random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5, random() AS r6
        FROM generate_series($1::int, $2::int) g
      ) raw
    ) typed
  ) timed
) final`;

/** After a bulk load: fresh planner statistics and visibility map, as autovacuum would leave them. */
export async function vacuumAnalyze(pool: Pool): Promise<void> {
  await pool.query('VACUUM (ANALYZE) tasks');
}

export async function taskCount(pool: Pool): Promise<number> {
  return Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM tasks')).rows[0].n);
}

/** The biggest kb and a median-sized one (by task count): the worst and the typical tenant. */
export async function pickKbs(
  pool: Pool,
  pattern: string,
): Promise<{ hot: { id: string; tasks: number }; typical: { id: string; tasks: number } }> {
  const { rows } = await pool.query<{ kb_id: string; n: string }>(
    'SELECT kb_id, count(*) AS n FROM tasks WHERE kb_id LIKE $1 GROUP BY kb_id ORDER BY count(*) DESC, kb_id',
    [pattern],
  );
  if (rows.length === 0) throw new Error(`no kb matching ${pattern} in the table`);
  const at = (i: number) => ({ id: rows[i].kb_id, tasks: Number(rows[i].n) });
  return { hot: at(0), typical: at(Math.floor(rows.length / 2)) };
}
