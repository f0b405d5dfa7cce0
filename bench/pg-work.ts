/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return --
   pg_stat_* rows are read untyped: the script prints whatever columns the server reports. */
/**
 * PostgreSQL's work per task, table by table and index by index (issue 13): starts the
 * service (one process, both roles) on a database of your choosing, resets that database's
 * statistics, runs N `health_check` tasks end to end as the `e2e` scenario does (batches of
 * 500 over HTTP, two in flight), and reads pg_stat_database, pg_stat_user_tables and
 * pg_stat_user_indexes. Everything in the statistics happened during the run: the service's
 * statements, its background readers (reconciler, outbox probe, presenter) and this script's
 * polling, which reads only task_counters.
 *
 *   node -r @swc-node/register bench/pg-work.ts --database-url postgresql://postgres@127.0.0.1:5432/tm_mine [--tasks 20000]
 *
 * The database is migrated, not recreated; its tasks stay (in a kb of their own) for
 * EXPLAIN afterwards. Needs `npm run build` first when dist/ is older than src/ (it says).
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Pool } from 'pg';
import { databaseName, harnessPool, migrate } from './lib/database';
import { requestJson } from './lib/http';
import { readCpuSeconds } from './lib/proc';
import { deleteKeysWithPrefix, redisClient } from './lib/redis';
import { chooseEntry, ServiceCluster } from './lib/service';
import { pollUntil, sleep } from './lib/time';
import { inParallel, taskRequest } from './scenarios/common';

const ROOT = resolve(__dirname, '..');
const TABLES = ['tasks', 'task_events', 'task_counters', 'webhook_deliveries'];

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    tasks: { type: 'string', default: '20000' },
    port: { type: 'string', default: '18094' },
  },
});
const url = values['database-url'];
if (!url) throw new Error('--database-url is required: the database this run resets the statistics of');
const n = Number(values.tasks);
const log = (message: string) => process.stderr.write(`[pg-work] ${message}\n`);

/** Statistics of the backends serving this database: their pids and summed CPU seconds now. */
async function backendCpu(pool: Pool): Promise<Map<number, number>> {
  const { rows } = await pool.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
  );
  return new Map(rows.map(({ pid }) => [pid, readCpuSeconds(pid) ?? 0]));
}

async function finished(pool: Pool, kb: string): Promise<number> {
  const { rows } = await pool.query<{ n: string | null }>(
    `SELECT sum(count) AS n FROM task_counters WHERE kb_id = $1 AND status IN ('completed', 'failed')`,
    [kb],
  );
  return Number(rows[0].n ?? 0);
}

async function runTasks(pool: Pool, apiUrl: string, kb: string, count: number): Promise<void> {
  const bodies = Array.from({ length: Math.ceil(count / 500) }, (_, i) =>
    JSON.stringify(Array.from({ length: Math.min(500, count - i * 500) }, () => taskRequest(kb))),
  );
  await inParallel(bodies, 2, async (body) => {
    const response = await requestJson(`${apiUrl}/api/v1/tasks/batch`, { body, timeoutMs: 60_000 });
    if (response.status !== 201) throw new Error(`batch create answered ${response.status}`);
  });
  await pollUntil(
    () => finished(pool, kb),
    (done) => done >= count,
    {
      intervalMs: 250,
      timeoutMs: 600_000,
      what: `${count} tasks finished`,
      describe: (done) => `${done} finished`,
    },
  );
}

async function main(): Promise<void> {
  const runId = randomBytes(4).toString('hex');
  const queuePrefix = `tm-pgwork-${runId}`;
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  log(`migrating ${databaseName(url!)}`);
  await migrate(ROOT, url!, 120_000);
  const entry = chooseEntry(ROOT);
  log(`service: ${entry.label} (${entry.reason})`);
  const cluster = new ServiceCluster({
    rootDir: ROOT,
    entry,
    databaseUrl: url!,
    redisUrl,
    queuePrefix,
    port: Number(values.port),
    extraEnv: {},
    verbose: false,
    startTimeoutMs: 90_000,
  });
  const pool = harnessPool(url!);
  const redis = redisClient(redisUrl);
  try {
    await cluster.ensure({ kind: 'both' });
    log('warming up (1,000 tasks)');
    await runTasks(pool, cluster.url, `kb_pgwork_warmup_${runId}`, 1000);
    // A database that has been running has planner statistics; a fresh one has none, and
    // plans without them (e.g. a sequential scan for the outbox probe) would not be the usual ones.
    await pool.query('ANALYZE tasks, task_events, task_counters');
    await pool.query('SELECT pg_stat_reset()');
    await sleep(1200);
    const cpuBefore = await backendCpu(pool);
    const lsnBefore = (await pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn() AS lsn')).rows[0].lsn;
    const started = Date.now();
    log(`running ${n} tasks`);
    await runTasks(pool, cluster.url, `kb_pgwork_${runId}`, n);
    const seconds = (Date.now() - started) / 1000;
    const cpuAfter = await backendCpu(pool);
    // Backends flush their statistics about once a second.
    await sleep(1500);
    const perTask = (value: number | string) => Math.round((Number(value) / n) * 1000) / 1000;
    let cpu = 0;
    for (const [pid, after] of cpuAfter) cpu += after - (cpuBefore.get(pid) ?? 0);
    const {
      rows: [db],
    } = await pool.query(
      `SELECT xact_commit, tup_inserted, tup_updated, tup_deleted, tup_fetched, tup_returned, active_time,
              pg_wal_lsn_diff(pg_current_wal_lsn(), $1) AS wal_bytes
         FROM pg_stat_database WHERE datname = current_database()`,
      [lsnBefore],
    );
    const { rows: tables } = await pool.query(
      `SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del, seq_scan, seq_tup_read, idx_scan, idx_tup_fetch,
              (SELECT count(*) FROM pg_index i WHERE i.indrelid = s.relid) AS indexes,
              (SELECT reloptions FROM pg_class c WHERE c.oid = s.relid) AS reloptions
         FROM pg_stat_user_tables s WHERE relname = ANY($1) ORDER BY relname`,
      [TABLES],
    );
    const { rows: indexes } = await pool.query(
      `SELECT relname, indexrelname, idx_scan, idx_tup_read, idx_tup_fetch
         FROM pg_stat_user_indexes WHERE relname = ANY($1) ORDER BY relname, indexrelname`,
      [TABLES],
    );
    const report = {
      tasks: n,
      seconds,
      tasks_per_sec: Math.round(n / seconds),
      per_task: {
        backend_cpu_ms: perTask(cpu * 1000),
        active_ms: perTask(db.active_time),
        transactions: perTask(db.xact_commit),
        rows_inserted: perTask(db.tup_inserted),
        rows_updated: perTask(db.tup_updated),
        rows_deleted: perTask(db.tup_deleted),
        rows_fetched: perTask(db.tup_fetched),
        rows_returned: perTask(db.tup_returned),
        wal_bytes_machine_wide: perTask(db.wal_bytes),
      },
      tables: tables.map((t) => ({
        table: t.relname,
        indexes: Number(t.indexes),
        reloptions: t.reloptions,
        inserted: perTask(t.n_tup_ins),
        updated: perTask(t.n_tup_upd),
        hot_updated: perTask(t.n_tup_hot_upd),
        hot_ratio:
          Number(t.n_tup_upd) === 0 ? null : Math.round((Number(t.n_tup_hot_upd) / Number(t.n_tup_upd)) * 100) / 100,
        deleted: perTask(t.n_tup_del),
        seq_scans: Number(t.seq_scan),
        seq_rows_read: perTask(t.seq_tup_read),
        index_scans: perTask(t.idx_scan ?? 0),
        index_rows_fetched: perTask(t.idx_tup_fetch ?? 0),
      })),
      indexes: indexes
        .filter((i) => Number(i.idx_scan) > 0)
        .map((i) => ({
          index: i.indexrelname,
          scans: Number(i.idx_scan),
          rows_read_per_task: perTask(i.idx_tup_read),
        })),
      unused_indexes: indexes.filter((i) => Number(i.idx_scan) === 0).map((i) => i.indexrelname),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await cluster.stop();
    await deleteKeysWithPrefix(redis, queuePrefix).catch(() => 0);
    redis.disconnect();
    await pool.end();
  }
}

main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
