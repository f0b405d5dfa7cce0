/**
 * task-manager's benchmark harness (issue 5): `npm run bench` starts what it needs, runs
 * bounded loads, prints a table and one `BENCH_JSON {...}` line, and cleans up after itself.
 * bench/README.md explains each figure and how it is measured.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { Pool } from 'pg';
import { errorMessage } from '../src/common/errors/error-message';
import { parseOptions, sizesFor, USAGE } from './lib/args';
import {
  databaseUrl,
  DEFAULT_DATABASE_URL,
  dropDatabase,
  harnessPool,
  migrate,
  recreateDatabase,
} from './lib/database';
import { num, ratio } from './lib/format';
import { machineInfo, MachineInfo } from './lib/machine';
import { loadAverage } from './lib/proc';
import { killAllNow, stopAll } from './lib/processes';
import type { ProfileSummary } from './lib/profile';
import { DEFAULT_REDIS_URL, deleteKeysWithPrefix, redisClient } from './lib/redis';
import { renderReport, Section } from './lib/report';
import { RssMonitor } from './lib/rss-monitor';
import { chooseEntry, ServiceCluster, ServiceEntry } from './lib/service';
import { round } from './lib/stats';
import { evaluateTargets, Outcomes } from './lib/targets';
import { withDeadline } from './lib/time';
import { bullmqScenario, graphileScenario, pgBossScenario } from './scenarios/ceilings';
import { batchScenario, postScenario } from './scenarios/create';
import { endToEndProfileScenario, endToEndScenario, endToEndWorkersScenario } from './scenarios/end-to-end';
import { fairnessScenario } from './scenarios/fairness';
import { floorScenario, liveScenario } from './scenarios/floor';
import { getScenario } from './scenarios/get-task';
import { keptDbName, listStatsScenario } from './scenarios/list-stats';
import { latencyScenario, latencySplitScenario, steadyScenario } from './scenarios/paced';
import type { BenchContext, BenchOptions, Scenario } from './scenarios/types';

const ROOT = resolve(__dirname, '..');
/** Overridable so two benches can share a machine (each its own port and database). */
const PORT = Number(process.env.BENCH_PORT ?? 18084);
const BENCH_DB = process.env.BENCH_DB ?? 'task_manager_bench';

/**
 * Run order: the ceilings and the bare node:http floor first, on a machine where our service
 * is not running; then the HTTP scenarios against the default deployment; the long steady
 * run; the end-to-end runs (profiled ones last, as profiling restarts the service); fairness
 * (only when named: it restarts the service with its own settings five times); the seeded
 * list/stats last, as they replace the service's database.
 */
const SCENARIOS: Scenario[] = [
  bullmqScenario,
  pgBossScenario,
  graphileScenario,
  floorScenario,
  liveScenario,
  postScenario,
  batchScenario,
  getScenario,
  latencyScenario,
  latencySplitScenario,
  steadyScenario,
  endToEndScenario,
  endToEndWorkersScenario,
  endToEndProfileScenario,
  fairnessScenario,
  listStatsScenario,
];

const started = Date.now();
const log = (message: string) =>
  process.stderr.write(`[bench +${Math.round((Date.now() - started) / 1000)}s] ${message}\n`);

function assertPortFree(port: number): Promise<void> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', () => {
      reject(new Error(`port ${port} is in use: another bench (or service) is running there`));
    });
    server.listen(port, '127.0.0.1', () =>
      server.close(() => {
        resolvePort();
      }),
    );
  });
}

function profileSections(outcomes: Outcomes): Section[] {
  const sections: Section[] = [];
  const collect = (label: string, result: unknown) => {
    const profiles = (result as { profiles?: ({ role: string } & ProfileSummary)[] } | undefined)?.profiles;
    for (const p of profiles ?? []) {
      sections.push({
        title: `Where the time goes: ${label}, ${p.role} process (${num(p.busyMs)} ms busy of ${num(p.windowMs)} ms)`,
        rows: [
          ...p.categories
            .slice(0, 14)
            .map((c) => ({ metric: c.category, value: `${num(c.percent, 1)} %  (${num(c.ms)} ms)` })),
          { metric: '— top self time —', value: '' },
          ...p.top
            .slice(0, 15)
            .map((f) => ({ metric: `${f.function} ${f.where}`.slice(0, 90), value: `${num(f.percent, 1)} %` })),
        ],
        notes: [`profile: ${p.file}`],
      });
    }
  };
  collect('e2e', outcomes.e2e?.data);
  collect('e2e under the profiler', outcomes['e2e-profile']?.data);
  for (const [key, value] of Object.entries(outcomes['e2e-workers']?.data ?? {}))
    collect(`e2e ${key.replace('_', ' ')}`, value);
  return sections;
}

/** What the service logged during a scenario (warnings and errors only, at LOG_LEVEL=warn), briefly. */
function serviceLogNotes(cluster: ServiceCluster | null): string[] {
  const logs = cluster?.takeLogs();
  if (!logs || logs.count === 0) return [];
  const distinct = [...new Set(logs.lines.map((line) => line.replace(/\x1b\[[0-9;]*m/g, '').slice(0, 200)))].slice(-3);
  return [`the service logged ${logs.count} line(s); the last distinct ones:`, ...distinct.map((line) => `  ${line}`)];
}

/** Our end-to-end throughput over each ceiling's, for every topology measured. */
function ratios(outcomes: Outcomes): { rows: Section['rows']; data: Record<string, number | null> } {
  const ours: [string, number | null][] = [];
  const tps = (d: unknown) => (d as { tasks_per_sec?: number } | undefined)?.tasks_per_sec ?? null;
  if (outcomes.e2e?.data) ours.push(['e2e (one process)', tps(outcomes.e2e.data)]);
  for (const [key, value] of Object.entries(outcomes['e2e-workers']?.data ?? {}))
    ours.push([`e2e ${key.replace('_', ' ')}`, tps(value)]);
  const rows: Section['rows'] = [];
  const data: Record<string, number | null> = {};
  for (const ceiling of ['bullmq', 'pgboss', 'graphile'] as const) {
    const theirs = (outcomes[ceiling]?.data?.jobs_per_sec as number | undefined) ?? null;
    if (theirs === null) continue;
    for (const [label, value] of ours) {
      const r = value === null || theirs === 0 ? null : round(value / theirs, 2);
      data[`${label} / ${ceiling}`] = r;
      rows.push({ metric: `${label} / ${ceiling}`, value: `${ratio(r)}  (${num(value)} vs ${num(theirs)})` });
    }
  }
  return { rows, data };
}

/** Each HTTP scenario's req/s over the bare node:http floor's, measured in this run. */
function httpRatios(outcomes: Outcomes): { rows: Section['rows']; data: Record<string, number | null> } {
  const reqPerSec = (name: string) => (outcomes[name]?.data?.reqPerSec as number | undefined) ?? null;
  const floor = reqPerSec('floor');
  const rows: Section['rows'] = [];
  const data: Record<string, number | null> = {};
  if (floor === null || floor === 0) return { rows, data };
  const live = outcomes.live?.data;
  if (typeof live?.ratio_to_floor_interleaved === 'number') {
    data.live_interleaved = live.ratio_to_floor_interleaved;
    rows.push({
      metric: 'GET /health/live / bare node:http, interleaved slices',
      value: `${ratio(data.live_interleaved)}  (${num(live.reqPerSec as number)} vs ${num(live.floor_interleaved_req_per_sec as number)} req/s)`,
    });
  }
  for (const [name, label] of [
    ['live', 'GET /health/live'],
    ['get', 'GET /api/v1/tasks/{id}'],
    ['post', 'POST /api/v1/tasks'],
  ] as const) {
    const ours = reqPerSec(name);
    if (ours === null) continue;
    data[name] = round(ours / floor, 3);
    rows.push({
      metric: `${label} / the floor scenario`,
      value: `${ratio(data[name])}  (${num(ours)} vs ${num(floor)} req/s)`,
    });
  }
  return { rows, data };
}

async function main(): Promise<number> {
  let options: BenchOptions | null;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (!options) {
    console.log(USAGE);
    return 0;
  }
  const opts = options;
  const sizes = sizesFor(opts);
  const runId = randomBytes(3).toString('hex');
  const serverUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const redisUrl = process.env.REDIS_URL || DEFAULT_REDIS_URL;
  const managed = opts.url === null;
  const benchDbUrl = managed ? databaseUrl(serverUrl, BENCH_DB) : (opts.databaseUrl ?? serverUrl);
  const queuePrefix = `tm-bench-${runId}`;
  const createdDatabases = new Set<string>();
  const redisPrefixes = new Set<string>([queuePrefix]);
  const redis = redisClient(redisUrl);
  let cluster: ServiceCluster | null = null;
  let pool: Pool | null = null;
  const rss = new RssMonitor(() => cluster?.pids() ?? (opts.pid ? [{ role: 'service', pid: opts.pid }] : []));
  const keptSeed = keptDbName(sizes.seedSizes[sizes.seedSizes.length - 1]);

  let cleaned: Promise<void> | null = null;
  const cleanup = () =>
    (cleaned ??= (async () => {
      rss.stop();
      await cluster?.stop().catch((e: unknown) => log(`stopping the service: ${errorMessage(e)}`));
      await stopAll(5000);
      await pool?.end().catch(() => undefined);
      for (const db of createdDatabases) {
        if (opts.keepSeed && db === keptSeed) continue;
        await dropDatabase(serverUrl, db).catch((e: unknown) => log(`dropping ${db}: ${errorMessage(e)}`));
      }
      for (const prefix of redisPrefixes)
        await deleteKeysWithPrefix(redis, prefix).catch((e: unknown) => log(`clearing ${prefix}: ${errorMessage(e)}`));
      redis.disconnect();
    })());

  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupted) {
        killAllNow();
        process.exit(130);
      }
      interrupted = true;
      log(`${signal}: stopping the service and cleaning up (send it again to force)`);
      void withDeadline(cleanup(), 60_000, 'cleanup')
        .catch((e: unknown) => log(errorMessage(e)))
        .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
  process.on('exit', killAllNow);

  const outcomes: Outcomes = {};
  const sections: Section[] = [];
  let failures = 0;
  let entry: ServiceEntry | null = null;
  let machine: MachineInfo | null = null;
  try {
    if (managed) {
      await assertPortFree(PORT);
      log(`creating and migrating ${BENCH_DB}`);
      await recreateDatabase(serverUrl, BENCH_DB);
      createdDatabases.add(BENCH_DB);
      await migrate(ROOT, benchDbUrl, 120_000);
      entry = chooseEntry(ROOT);
      log(`service: node ${entry.args.join(' ')} (${entry.reason})`);
      cluster = new ServiceCluster({
        rootDir: ROOT,
        entry,
        databaseUrl: benchDbUrl,
        redisUrl,
        queuePrefix,
        port: PORT,
        extraEnv: opts.env,
        verbose: opts.verbose,
        startTimeoutMs: sizes.serviceStartTimeoutMs,
      });
    }
    pool = harnessPool(benchDbUrl);
    machine = await machineInfo(ROOT, databaseUrl(serverUrl, 'postgres'), redis);
    // The full run profiles one extra end-to-end pass (e2e-profile) for the bounds; --profile profiles the e2e scenarios themselves.
    const profileDir = opts.profile || !opts.quick ? join(ROOT, 'bench', 'profiles') : null;
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    rss.start();
    const ctx: BenchContext = {
      options: opts,
      sizes,
      runId,
      rootDir: ROOT,
      serverUrl,
      databaseUrl: benchDbUrl,
      redisUrl,
      queuePrefix,
      cluster,
      apiUrl: opts.url ?? `http://127.0.0.1:${PORT}`,
      pool,
      redis,
      rss,
      profileDir,
      createdDatabases,
      redisPrefixes,
      log,
    };
    for (const scenario of SCENARIOS.filter((s) => (opts.only ? opts.only.includes(s.name) : !s.onlyWhenNamed))) {
      // After Ctrl-C the cleanup runs concurrently and exits the process; start nothing new.
      if (interrupted) break;
      if (!managed && !scenario.worksWithUrl) {
        sections.push({
          title: scenario.title,
          rows: [],
          notes: ['skipped: it starts its own service processes (not with --url)'],
        });
        continue;
      }
      log(`▶ ${scenario.name}: ${scenario.title}`);
      const t0 = Date.now();
      try {
        const output = await scenario.run(ctx);
        outcomes[scenario.name] = { data: output.data };
        sections.push({
          title: `${scenario.title}  [${scenario.name}, ${Math.round((Date.now() - t0) / 1000)} s]`,
          rows: output.rows,
          notes: [...(output.notes ?? []), ...serviceLogNotes(cluster)],
        });
      } catch (error) {
        if (interrupted) break;
        failures++;
        const message = (error as Error).stack ?? String(error);
        outcomes[scenario.name] = { error: (error as Error).message };
        sections.push({ title: `${scenario.title}  [${scenario.name}]`, rows: [], error: message });
        log(`${scenario.name} failed: ${message}`);
      }
    }
  } catch (error) {
    failures++;
    log(`setup failed: ${(error as Error).stack ?? String(error)}`);
  } finally {
    await withDeadline(cleanup(), 120_000, 'cleanup').catch((e: unknown) => log(errorMessage(e)));
  }

  const floorRatios = httpRatios(outcomes);
  if (floorRatios.rows.length > 0)
    sections.push({ title: 'Ratios: HTTP / the bare node:http floor (same run)', rows: floorRatios.rows });
  const ceilingRatios = ratios(outcomes);
  if (ceilingRatios.rows.length > 0)
    sections.push({ title: 'Ratios: our end to end / each ceiling', rows: ceilingRatios.rows });
  sections.push(...profileSections(outcomes));
  const targets = opts.quick ? null : evaluateTargets(outcomes, machine?.cpus ?? 1);
  const header = [
    `task-manager bench — ${new Date().toISOString()} — ${opts.quick ? 'QUICK (tiny counts, no targets)' : 'full run'} — ${Math.round((Date.now() - started) / 1000)} s`,
    machine
      ? `machine: ${machine.cpus} CPUs (${machine.cpu_model}), ${machine.memory_gib} GiB, ${machine.os}; node ${machine.node}, PostgreSQL ${machine.postgresql}, Redis ${machine.redis}; git ${machine.git}`
      : 'machine: unknown (setup failed)',
    `service: ${entry ? `node ${entry.args.join(' ')} — ${entry.reason}` : `running at ${opts.url}`}; load average at start ${machine?.load_average_at_start.join(' ') ?? '—'}, at end ${loadAverage().join(' ')}`,
  ];
  console.log(renderReport(header, sections, targets));
  const json = {
    version: 1,
    date: new Date().toISOString(),
    mode: opts.quick ? 'quick' : 'full',
    run_id: runId,
    duration_seconds: Math.round((Date.now() - started) / 1000),
    options: { ...opts },
    machine,
    load_average_at_end: loadAverage(),
    service: entry ? { entry: entry.label, reason: entry.reason } : { url: opts.url },
    payload: { task_type: 'health_check', payload: { checks: ['database'] } },
    sizes,
    results: outcomes,
    ratios: ceilingRatios.data,
    http_ratios: floorRatios.data,
    targets,
  };
  console.log(`BENCH_JSON ${JSON.stringify(json)}`);
  try {
    const dir = join(ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, `bench-${json.date.replace(/[:.]/g, '-')}-${json.mode}.json`),
      `${JSON.stringify(json, null, 2)}\n`,
    );
  } catch (error) {
    log(`could not save the results file: ${(error as Error).message}`);
  }
  return failures > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    killAllNow();
    process.exit(1);
  },
);
