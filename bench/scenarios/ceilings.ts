import { Queue, Worker } from 'bullmq';
import { Logger as GraphileLogger, run as runGraphile } from 'graphile-worker';
import { Pool } from 'pg';
import PgBoss from 'pg-boss';
import { databaseUrl, recreateDatabase } from '../lib/database';
import { num } from '../lib/format';
import { deleteKeysWithPrefix } from '../lib/redis';
import { round } from '../lib/stats';
import { pollUntil, withDeadline } from '../lib/time';
import { inParallel } from './common';
import type { BenchContext, Scenario, ScenarioOutput } from './types';

/**
 * The machine's raw ceilings, measured in the same run as the service so the ratios compare
 * like with like: the same producer pattern as our end-to-end test (jobs added in chunks of
 * 500, two chunks in flight, while the consumer runs), no-op handlers, 50 jobs at a time.
 */
export interface CeilingResult {
  jobs: number;
  seconds: number;
  jobs_per_sec: number;
  config: string;
}

const CHUNK = 500;
const CONCURRENCY = 50;

function chunks(total: number): number[] {
  return Array.from({ length: Math.ceil(total / CHUNK) }, (_, i) => Math.min(CHUNK, total - i * CHUNK));
}

/** A promise resolved from outside, for "the last job finished". */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Bound for one ceiling: 2 minutes, or 50 jobs/s for big runs. */
const ceilingTimeout = (jobs: number) => Math.max(120_000, (jobs / 50) * 1000);

function rows(r: CeilingResult) {
  return [
    { metric: `jobs/s (${num(r.jobs)} no-op jobs)`, value: num(r.jobs_per_sec) },
    { metric: 'setup', value: r.config },
  ];
}

async function bullmqCeiling(ctx: BenchContext): Promise<CeilingResult> {
  const jobs = ctx.sizes.ceilingJobs;
  const prefix = `${ctx.queuePrefix}-raw`;
  ctx.redisPrefixes.add(prefix);
  const url = new URL(ctx.redisUrl);
  const connection = {
    host: url.hostname,
    port: Number(url.port || 6379),
    db: Number(url.pathname.slice(1) || 0),
    maxRetriesPerRequest: null,
  };
  const queue = new Queue('noop', { connection, prefix });
  const done = signal();
  let completed = 0;
  const worker = new Worker('noop', async () => undefined, { connection, prefix, concurrency: CONCURRENCY });
  worker.on('completed', () => {
    if (++completed === jobs) done.resolve();
  });
  try {
    await worker.waitUntilReady();
    const started = Date.now();
    await inParallel(chunks(jobs), 2, async (size) => {
      await queue.addBulk(
        Array.from({ length: size }, () => ({
          name: 'noop',
          data: {},
          opts: { removeOnComplete: true, removeOnFail: true },
        })),
      );
    });
    await withDeadline(done.promise, ceilingTimeout(jobs), 'BullMQ drain');
    const seconds = (Date.now() - started) / 1000;
    return {
      jobs,
      seconds: round(seconds, 2) ?? 0,
      jobs_per_sec: Math.round(jobs / seconds),
      config: `Worker concurrency ${CONCURRENCY}, addBulk ×${CHUNK}, own prefix`,
    };
  } finally {
    await worker.close(true);
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await deleteKeysWithPrefix(ctx.redis, prefix);
  }
}

/**
 * pg-boss 10 runs one fetch loop per work() call and sleeps the polling interval (at least
 * 0.5 s) after every fetch, even a full one, so one loop moves at most batchSize per 0.5 s.
 * Tried here with 20,000 jobs: 1×500 ≈ 1,000/s, 10×100 ≈ 20×50 ≈ 2,000/s, 50×1 ≈ 100/s.
 * 20 loops of 50 (each batch the size of our concurrency) is its best showing.
 */
const PGBOSS_LOOPS = 20;
const PGBOSS_BATCH = 50;

async function pgBossCeiling(ctx: BenchContext): Promise<CeilingResult> {
  const jobs = ctx.sizes.ceilingJobs;
  const name = 'task_manager_bench_pgboss';
  await recreateDatabase(ctx.serverUrl, name);
  ctx.createdDatabases.add(name);
  const url = databaseUrl(ctx.serverUrl, name);
  // Maintenance and cron off: they are periodic and would only add noise to a short run.
  const boss = new PgBoss({ connectionString: url, max: 20, supervise: false, schedule: false, migrate: true });
  boss.on('error', (error: Error) => {
    ctx.log(`pg-boss: ${error.message}`);
  });
  const done = signal();
  let handled = 0;
  const db = new Pool({ connectionString: url, max: 2 });
  try {
    await boss.start();
    await boss.createQueue('noop');
    for (let i = 0; i < PGBOSS_LOOPS; i++) {
      await boss.work('noop', { batchSize: PGBOSS_BATCH, pollingIntervalSeconds: 0.5 }, async (batch) => {
        handled += batch.length;
        if (handled >= jobs) done.resolve();
      });
    }
    const started = Date.now();
    await inParallel(chunks(jobs), 2, async (size) => {
      await boss.insert(Array.from({ length: size }, () => ({ name: 'noop', data: {} })));
    });
    await withDeadline(done.promise, ceilingTimeout(jobs), 'pg-boss drain');
    // The handler has run for every job; the end is when the last completion is stored.
    await pollUntil(
      async () =>
        Number(
          (
            await db.query<{ n: string }>(
              "SELECT count(*) AS n FROM pgboss.job WHERE name = 'noop' AND state = 'completed'",
            )
          ).rows[0].n,
        ),
      (n) => n >= jobs,
      { intervalMs: 50, timeoutMs: 30_000, what: 'pg-boss completions stored' },
    );
    const seconds = (Date.now() - started) / 1000;
    return {
      jobs,
      seconds: round(seconds, 2) ?? 0,
      jobs_per_sec: Math.round(jobs / seconds),
      config: `${PGBOSS_LOOPS} work() loops × batchSize ${PGBOSS_BATCH}, poll 0.5 s, pool 20, insert() ×${CHUNK}, own database`,
    };
  } finally {
    await boss.stop({ graceful: false, wait: true, timeout: 5000 }).catch(() => undefined);
    await db.end();
  }
}
async function graphileCeiling(ctx: BenchContext): Promise<CeilingResult> {
  const jobs = ctx.sizes.ceilingJobs;
  const name = 'task_manager_bench_graphile';
  await recreateDatabase(ctx.serverUrl, name);
  ctx.createdDatabases.add(name);
  const url = databaseUrl(ctx.serverUrl, name);
  const done = signal();
  let handled = 0;
  const quiet = new GraphileLogger(() => (level, message) => {
    if ((level as string) === 'error') ctx.log(`graphile-worker: ${message}`);
  });
  const runner = await runGraphile({
    connectionString: url,
    concurrency: CONCURRENCY,
    maxPoolSize: 20,
    noHandleSignals: true,
    logger: quiet,
    taskList: {
      noop: async () => {
        if (++handled >= jobs) done.resolve();
      },
    },
  });
  const db = new Pool({ connectionString: url, max: 3 });
  try {
    const started = Date.now();
    // graphile-worker 0.16's bulk path is its SQL API, add_jobs(job_spec[]) (WorkerUtils.addJobs came later).
    await inParallel(chunks(jobs), 2, async (size) => {
      await db.query(
        `SELECT count(*) FROM graphile_worker.add_jobs(ARRAY(
           SELECT ROW('noop', '{}'::json, NULL, NULL, NULL, NULL, NULL, NULL)::graphile_worker.job_spec
           FROM generate_series(1, $1::int)))`,
        [size],
      );
    });
    await withDeadline(done.promise, ceilingTimeout(jobs), 'graphile-worker drain');
    // A finished job is deleted; the end is when none is left.
    await pollUntil(
      async () =>
        Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM graphile_worker._private_jobs')).rows[0].n),
      (n) => n === 0,
      { intervalMs: 50, timeoutMs: 30_000, what: 'graphile-worker completions stored' },
    );
    const seconds = (Date.now() - started) / 1000;
    return {
      jobs,
      seconds: round(seconds, 2) ?? 0,
      jobs_per_sec: Math.round(jobs / seconds),
      config: `concurrency ${CONCURRENCY}, pool 20, add_jobs() ×${CHUNK}, own database`,
    };
  } finally {
    await runner.stop().catch(() => undefined);
    await db.end();
  }
}

function ceilingScenario(
  name: 'bullmq' | 'pgboss' | 'graphile',
  title: string,
  measure: (ctx: BenchContext) => Promise<CeilingResult>,
): Scenario {
  return {
    name,
    title,
    worksWithUrl: true,
    async run(ctx): Promise<ScenarioOutput> {
      // The ceilings run with our service stopped, so each system has the machine to itself.
      await ctx.cluster?.stop();
      const result = await measure(ctx);
      return { rows: rows(result), data: { ...result } };
    },
  };
}

export const bullmqScenario = ceilingScenario('bullmq', 'Ceiling: raw BullMQ', bullmqCeiling);
export const pgBossScenario = ceilingScenario('pgboss', 'Ceiling: pg-boss', pgBossCeiling);
export const graphileScenario = ceilingScenario('graphile', 'Ceiling: graphile-worker', graphileCeiling);
