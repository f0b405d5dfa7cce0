import { Pool } from 'pg';
import {
  databaseComment,
  databaseExists,
  databaseUrl,
  harnessPool,
  migrate,
  recreateDatabase,
  setDatabaseComment,
} from '../lib/database';
import { num, pair, ratio } from '../lib/format';
import { requestJson } from '../lib/http';
import { LoadResult, runLoad } from '../lib/load';
import { pickKbs, seedMarker, seedTasks, taskCount, vacuumAnalyze } from '../lib/seed';
import { round } from '../lib/stats';
import { nowMs, pollUntil } from '../lib/time';
import type { BenchContext, ReportRow, Scenario, ScenarioOutput } from './types';

const SCRATCH_DB = 'task_manager_bench_seed';
/** The largest seed lives in its own database so --keep-seed can keep it for the next run. */
export const keptDbName = (rows: number) =>
  `task_manager_bench_seed_${rows >= 1_000_000 ? `${rows / 1_000_000}m` : rows}`;

type Endpoint = 'list' | 'stats';
type KbClass = 'hot' | 'typical';
const MEASURES: [Endpoint, KbClass][] = [
  ['list', 'hot'],
  ['list', 'typical'],
  ['stats', 'hot'],
  ['stats', 'typical'],
];

interface SizeResult {
  tasks: number;
  database: string;
  seed_seconds: number | null;
  reused_seed: boolean;
  kbs: Record<KbClass, { id: string; tasks: number }>;
  list_total_matches_sql: boolean;
  loads: Record<string, LoadResult>;
}

const path = (endpoint: Endpoint, kbId: string) =>
  endpoint === 'list'
    ? `/api/v1/tasks?kb_id=${encodeURIComponent(kbId)}&status=completed&page=1&page_size=20`
    : `/api/v1/stats/tasks?kb_id=${encodeURIComponent(kbId)}`;

/** Readers of the seed must not be disturbed by the reconciler walking its queued rows every 15 s. */
const READ_ONLY_ENV = { RECONCILE_INTERVAL_MS: '3600000' };

/**
 * Brings a seed database to `rows` tasks. `fresh`: a new database; `grow`: append to what the
 * previous size left; `keep`: reuse a database kept by --keep-seed when its marker matches.
 */
async function prepareSeed(
  ctx: BenchContext,
  db: string,
  pool: Pool,
  rows: number,
  mode: 'fresh' | 'grow' | 'keep',
): Promise<{ seconds: number | null; reused: boolean }> {
  const url = databaseUrl(ctx.serverUrl, db);
  if (
    mode === 'keep' &&
    (await databaseExists(ctx.serverUrl, db)) &&
    (await databaseComment(ctx.serverUrl, db)) === seedMarker(rows)
  ) {
    // Bring its schema up to date (migrations may have landed since) and use it as it is.
    await migrate(ctx.rootDir, url, 120_000);
    if ((await taskCount(pool)) === rows) {
      ctx.log(`reusing the kept ${num(rows)}-task seed in ${db}`);
      return { seconds: null, reused: true };
    }
  }
  const started = nowMs();
  let have = 0;
  if (mode === 'grow') {
    have = await taskCount(pool);
  } else {
    await recreateDatabase(ctx.serverUrl, db);
    await migrate(ctx.rootDir, url, 120_000);
  }
  ctx.log(`seeding ${db}: ${num(have)} → ${num(rows)} tasks`);
  await seedTasks(pool, have, rows - have, (done) => {
    ctx.log(`  ${num(have + done)} of ${num(rows)} rows`);
  });
  await vacuumAnalyze(pool);
  if (mode === 'keep') await setDatabaseComment(ctx.serverUrl, db, seedMarker(rows));
  return { seconds: round((nowMs() - started) / 1000, 1), reused: false };
}

/**
 * The API's startup reconcile pass dispatches the seed's queued tasks to Redis; wait until the
 * queue size stops moving so it does not overlap the measurement.
 */
async function waitForQuietQueues(ctx: BenchContext): Promise<void> {
  let previous = -1;
  let stable = 0;
  await pollUntil(
    async () => {
      const info = await requestJson<{ queue_size?: number }>(`${ctx.apiUrl}/api/v1/queues/info`);
      const size = info.body.queue_size ?? -1;
      stable = size === previous ? stable + 1 : 0;
      previous = size;
      return stable;
    },
    (s) => s >= 3,
    { intervalMs: 1000, timeoutMs: 180_000, what: 'queues quiet after the startup reconcile' },
  );
}

async function measureSize(
  ctx: BenchContext,
  pool: Pool,
  pattern: string,
  coldStart: boolean,
): Promise<Omit<SizeResult, 'tasks' | 'database' | 'seed_seconds' | 'reused_seed'>> {
  const kbs = await pickKbs(pool, pattern);
  if (coldStart) {
    // A process just started: JIT, pool connections and PostgreSQL's cache for this table
    // warm up on every endpoint and kb first, so the first size is not measured cold.
    for (const [endpoint, kbClass] of MEASURES) {
      await runLoad({
        url: `${ctx.apiUrl}${path(endpoint, kbs[kbClass].id)}`,
        connections: ctx.sizes.readConnections,
        durationSeconds: ctx.options.quick ? 0.3 : 1.5,
      });
    }
  }
  const expected = Number(
    (
      await pool.query<{ n: string }>("SELECT count(*) AS n FROM tasks WHERE kb_id = $1 AND status = 'completed'", [
        kbs.hot.id,
      ])
    ).rows[0].n,
  );
  const sample = await requestJson<{ pagination?: { total?: number } }>(`${ctx.apiUrl}${path('list', kbs.hot.id)}`);
  const loads: Record<string, LoadResult> = {};
  for (const [endpoint, kbClass] of MEASURES) {
    loads[`${endpoint}_${kbClass}`] = await runLoad({
      url: `${ctx.apiUrl}${path(endpoint, kbs[kbClass].id)}`,
      connections: ctx.sizes.readConnections,
      durationSeconds: ctx.sizes.readSeconds,
      warmupSeconds: ctx.options.quick ? 0.3 : 1,
    });
  }
  return { kbs, list_total_matches_sql: sample.body.pagination?.total === expected, loads };
}

type Growth = Record<string, { mean: (number | null)[]; p99: (number | null)[] }>;

/**
 * Mean and p99 latency at each size divided by those at the smallest size. The mean is the
 * "time" of the growth target: autocannon's percentiles have 1 ms resolution, which turns a
 * 4 → 5 ms change into 1.25×, while the mean keeps its decimals.
 */
function growth(sizes: SizeResult[]): Growth {
  const out: Growth = {};
  for (const [endpoint, kbClass] of MEASURES) {
    const key = `${endpoint}_${kbClass}`;
    const base = sizes[0].loads[key].latencyMs;
    const f = (v: number | null, b: number | null) => (v === null || b === null || b === 0 ? null : round(v / b, 2));
    out[key] = {
      mean: sizes.map((s) => f(s.loads[key].latencyMs.mean, base.mean)),
      p99: sizes.map((s) => f(s.loads[key].latencyMs.p99, base.p99)),
    };
  }
  return out;
}

/**
 * `GET /api/v1/tasks?kb_id=..&status=completed` (with its pagination total) and
 * `GET /api/v1/stats/tasks?kb_id=..` against 10k, 100k and 1M seeded tasks, for the biggest
 * kb and a median one, served by an API-only process (nothing else writes meanwhile).
 */
export const listStatsScenario: Scenario = {
  name: 'list-stats',
  title: 'List and stats vs table size',
  worksWithUrl: true,
  async run(ctx): Promise<ScenarioOutput> {
    const sizes: SizeResult[] = [];
    if (!ctx.cluster) {
      // --url: someone else's data; measure it as it is, seed nothing.
      const rows = await taskCount(ctx.pool);
      sizes.push({
        tasks: rows,
        database: '(target)',
        seed_seconds: null,
        reused_seed: false,
        ...(await measureSize(ctx, ctx.pool, '%', false)),
      });
    } else {
      const cluster = ctx.cluster;
      try {
        const seedSizes = ctx.sizes.seedSizes;
        for (const [i, rows] of seedSizes.entries()) {
          const last = i === seedSizes.length - 1;
          const db = last ? keptDbName(rows) : SCRATCH_DB;
          ctx.createdDatabases.add(db);
          const pool = harnessPool(databaseUrl(ctx.serverUrl, db));
          try {
            await cluster.stop();
            const seed = await prepareSeed(ctx, db, pool, rows, last ? 'keep' : i === 0 ? 'fresh' : 'grow');
            cluster.useDatabase(databaseUrl(ctx.serverUrl, db));
            const restarted = await cluster.ensure({ kind: 'api' }, { env: READ_ONLY_ENV });
            await waitForQuietQueues(ctx);
            ctx.rss.setPhase(`list-stats-${rows}`);
            ctx.log(`measuring list/stats at ${num(rows)} tasks`);
            const measured = await measureSize(ctx, pool, 'kb_seed_%', restarted);
            sizes.push({
              tasks: rows,
              database: db,
              seed_seconds: seed.seconds,
              reused_seed: seed.reused,
              ...measured,
            });
          } finally {
            await pool.end();
          }
        }
      } finally {
        await cluster.stop();
        cluster.useDatabase(ctx.databaseUrl);
      }
    }
    const g = growth(sizes);
    const rows: ReportRow[] = [];
    for (const s of sizes) {
      rows.push({
        metric: `${num(s.tasks)} tasks: kbs hot / typical`,
        value: `${s.kbs.hot.id} (${num(s.kbs.hot.tasks)}) / ${s.kbs.typical.id} (${num(s.kbs.typical.tasks)})`,
      });
      for (const [endpoint, kbClass] of MEASURES) {
        const l = s.loads[`${endpoint}_${kbClass}`];
        rows.push({
          metric: `  ${endpoint} ${kbClass} p50 / p99, mean (req/s)`,
          value: `${pair(l.latencyMs.p50, l.latencyMs.p99)}, ${num(l.latencyMs.mean, 2)} ms (${num(l.reqPerSec)})`,
        });
      }
      if (!s.list_total_matches_sql)
        rows.push({ metric: '  WARNING', value: 'list pagination.total differs from SQL count' });
    }
    if (sizes.length > 1) {
      for (const [key, value] of Object.entries(g)) {
        rows.push({
          metric: `growth ${key.replace('_', ' ')} mean / p99 (${sizes.map((s) => num(s.tasks)).join(' → ')})`,
          value: `${value.mean.map(ratio).join(' → ')} / ${value.p99.map(ratio).join(' → ')}`,
        });
      }
    }
    return {
      rows,
      data: { connections: ctx.sizes.readConnections, seconds_per_load: ctx.sizes.readSeconds, sizes, growth: g },
      notes: ctx.options.keepSeed
        ? [`kept ${keptDbName(ctx.sizes.seedSizes[ctx.sizes.seedSizes.length - 1])} for the next run (--keep-seed)`]
        : [],
    };
  },
};
