import { errorMessage } from '../../src/common/errors/error-message';
import { cpuPerUnit, cpuSnapshot } from '../lib/cpu';
import { dbActivity } from '../lib/database';
import { mb, num, ratio } from '../lib/format';
import { requestJson } from '../lib/http';
import { profileOf, ProfileSummary, summarizeProfile } from '../lib/profile';
import { redisPid } from '../lib/redis';
import { RedisCensus, redisCensus } from '../lib/redis-census';
import { describeTopology, Topology } from '../lib/service';
import { round } from '../lib/stats';
import { monotonicMicros } from '../lib/time';
import { inParallel, kbFor, rssMax, settleStats, taskRequest, useTopology, waitForDrain, waitForKb } from './common';
import type { BenchContext, ReportRow, Scenario, ScenarioOutput } from './types';

export interface EndToEndResult {
  topology: string;
  tasks: number;
  /** Tasks the API answered 201 for, and tasks actually stored (a 5xx answer may follow a commit). */
  created: number;
  stored: number;
  create_errors: Record<string, number>;
  completed: number;
  failed: number;
  create_seconds: number | null;
  seconds: number | null;
  tasks_per_sec: number | null;
  /** CPU ms per task by component (service processes by role, all postgres processes, redis-server, this harness). */
  cpu_ms_per_task: Record<string, number | null>;
  /** Redis traffic per task, counted with MONITOR on a small separate sample (see redis-census.ts). */
  redis: RedisCensus | null;
  /** PostgreSQL work per task in the bench database (pg_stat_database deltas). */
  pg_per_task: Record<string, number | null>;
  rss_max_mb: number | null;
  profiles?: ({ role: string } & ProfileSummary)[];
}

/**
 * 20,000 `health_check` tasks created over HTTP in batches of 500 (two requests in flight)
 * while the workers run them; the clock stops at the last completed_at in PostgreSQL. Around
 * it: CPU time per task of every component, Redis commands and PostgreSQL transactions per
 * task, and (with --profile) where the service's CPU time went.
 */
export async function runEndToEnd(
  ctx: BenchContext,
  label: string,
  topology: Topology | null,
  profile = ctx.options.profile,
): Promise<EndToEndResult> {
  const profileDir = profile ? ctx.profileDir : null;
  if (topology) await useTopology(ctx, topology, { profileDir });
  await waitForDrain(ctx, label);
  const kb = kbFor(ctx, label);
  const { e2eTasks: n, e2eBatchSize: size, e2eInFlight } = ctx.sizes;
  const bodies = Array.from({ length: Math.ceil(n / size) }, (_, i) =>
    JSON.stringify(Array.from({ length: Math.min(size, n - i * size) }, () => taskRequest(kb))),
  );
  const pids = ctx.cluster?.pids() ?? (ctx.options.pid ? [{ role: 'service', pid: ctx.options.pid }] : []);
  const redisServer = await redisPid(ctx.redis);
  ctx.rss.setPhase(label);
  const cpuBefore = cpuSnapshot(pids, redisServer);
  const dbBefore = await dbActivity(ctx.pool);
  const windowStart = monotonicMicros();
  const started = Date.now();

  let created = 0;
  const createErrors: Record<string, number> = {};
  await inParallel(bodies, e2eInFlight, async (body) => {
    let reason: string | null = null;
    try {
      const response = await requestJson<{ count?: number; code?: string }>(`${ctx.apiUrl}/api/v1/tasks/batch`, {
        body,
        timeoutMs: 60_000,
      });
      if (response.status === 201) created += response.body.count ?? 0;
      else reason = `HTTP ${response.status}${response.body.code ? ` ${response.body.code}` : ''}`;
    } catch (error) {
      reason = (error as Error).name === 'TimeoutError' ? 'timeout' : (error as Error).message;
    }
    if (reason) createErrors[reason] = (createErrors[reason] ?? 0) + 1;
  });
  const createSeconds = (Date.now() - started) / 1000;
  ctx.log(`${label}: ${created} tasks created in ${createSeconds.toFixed(1)} s; waiting for the workers`);
  // Bound: at least 2 minutes, or 20 tasks/s — far below anything healthy.
  const progress = await waitForKb(ctx, kb, created, Math.max(120_000, (n / 20) * 1000));
  const windowEnd = monotonicMicros();
  const cpuAfter = cpuSnapshot(pids, redisServer);
  await settleStats();
  const dbAfter = await dbActivity(ctx.pool);

  const seconds = progress.lastCompletedAt === null ? null : (progress.lastCompletedAt - started) / 1000;
  const perTask = (value: number) => round(value / Math.max(progress.total, 1), 2);
  const result: EndToEndResult = {
    topology: topology ? describeTopology(topology) : 'the running service (--url)',
    tasks: n,
    created,
    stored: progress.total,
    create_errors: createErrors,
    completed: progress.completed,
    failed: progress.failed,
    create_seconds: round(createSeconds, 2),
    seconds: round(seconds, 2),
    tasks_per_sec: seconds === null ? null : round(progress.completed / seconds, 0),
    cpu_ms_per_task: cpuPerUnit(cpuBefore, cpuAfter, progress.total),
    redis: null,
    pg_per_task: {
      // Every statement outside an explicit transaction commits on its own: ≈ statements sent.
      transactions: perTask(dbAfter.xactCommit - dbBefore.xactCommit),
      rows_inserted: perTask(dbAfter.tupInserted - dbBefore.tupInserted),
      rows_updated: perTask(dbAfter.tupUpdated - dbBefore.tupUpdated),
      rows_fetched: perTask(dbAfter.tupFetched - dbBefore.tupFetched),
    },
    rss_max_mb: rssMax(ctx, label),
  };
  if (Object.keys(createErrors).length > 0) ctx.log(`${label}: batch requests failed: ${JSON.stringify(createErrors)}`);
  // The Redis census needs the service still running, on a small batch of its own.
  result.redis = await redisCensus(ctx.redisUrl, ctx.queuePrefix, async () => {
    const censusKb = kbFor(ctx, `${label}-census`);
    const count = Math.min(200, n);
    await requestJson(`${ctx.apiUrl}/api/v1/tasks/batch`, {
      body: Array.from({ length: count }, () => taskRequest(censusKb)),
      timeoutMs: 60_000,
    });
    return (await waitForKb(ctx, censusKb, count, 120_000)).total;
  }).catch((error: unknown) => {
    ctx.log(`${label}: Redis census failed: ${errorMessage(error)}`);
    return null;
  });
  if (profileDir && ctx.cluster) {
    // V8 writes the profile when the process exits.
    await ctx.cluster.stop();
    result.profiles = pids.flatMap(({ role, pid }) => {
      const file = profileOf(profileDir, pid);
      return file ? [{ role, ...summarizeProfile(file, windowStart, windowEnd) }] : [];
    });
  }
  return result;
}

export function endToEndRows(r: EndToEndResult): ReportRow[] {
  const cpu = Object.entries(r.cpu_ms_per_task)
    .map(([k, v]) => `${k.replace('service_', '')} ${v ?? '—'}`)
    .join(', ');
  return [
    { metric: `tasks/s (${num(r.stored)} tasks, ${r.topology})`, value: num(r.tasks_per_sec) },
    {
      metric: 'create phase (tasks/s) / total seconds',
      value: `${num(r.create_seconds, 1)} s (${num(r.create_seconds ? r.stored / r.create_seconds : null)}/s) / ${num(r.seconds, 1)} s`,
    },
    {
      metric: 'batch requests failed (tasks stored anyway)',
      value:
        Object.keys(r.create_errors).length === 0
          ? 'none'
          : `${JSON.stringify(r.create_errors)} (${num(r.stored - r.created)} tasks)`,
    },
    { metric: 'completed / failed', value: `${num(r.completed)} / ${num(r.failed)}` },
    { metric: 'CPU ms per task', value: cpu },
    {
      metric: `Redis per task (MONITOR, ${r.redis?.tasks ?? 0} tasks): round trips / in Lua`,
      value: r.redis ? `${r.redis.round_trips_per_task} / ${r.redis.lua_commands_per_task}` : '—',
    },
    ...(r.redis?.sent
      .slice(0, 6)
      .map((c) => ({ metric: `  ${c.command}`.slice(0, 64), value: `${c.per_task} per task` })) ?? []),
    {
      metric: 'PostgreSQL per task',
      value: Object.entries(r.pg_per_task)
        .map(([k, v]) => `${k.replace('_', ' ')} ${v ?? '—'}`)
        .join(', '),
    },
    { metric: 'RSS max during run', value: mb(r.rss_max_mb) },
  ];
}

/** End to end in the default deployment: one process with both roles (the headline figure). */
export const endToEndScenario: Scenario = {
  name: 'e2e',
  title: 'End to end (API + workers)',
  worksWithUrl: true,
  async run(ctx): Promise<ScenarioOutput> {
    const result = await runEndToEnd(ctx, 'e2e', ctx.cluster ? { kind: 'both' } : null);
    return { rows: endToEndRows(result), data: { ...result } };
  },
};

/**
 * The one-process end-to-end load once more, under `node --cpu-prof`: where the service's CPU
 * goes, for the bounds printed under missed targets (issue 13: "what bounds it, with the
 * profile that shows it"). Its own tasks/s is not the headline figure — the profiler costs CPU
 * — so only the profile is read. Skipped with --profile (the e2e scenario is profiled then)
 * and in --quick runs.
 */
export const endToEndProfileScenario: Scenario = {
  name: 'e2e-profile',
  title: 'End to end under the CPU profiler (where the service spends its time)',
  worksWithUrl: false,
  async run(ctx): Promise<ScenarioOutput> {
    if (ctx.options.quick || ctx.options.profile || !ctx.profileDir) {
      return { rows: [], data: {}, notes: ['skipped: --quick, or --profile profiles the e2e scenario itself'] };
    }
    const result = await runEndToEnd(ctx, 'e2e-profile', { kind: 'both' }, true);
    return {
      rows: [
        {
          metric: `tasks/s under the profiler (${num(result.stored)} tasks, one process)`,
          value: num(result.tasks_per_sec),
        },
      ],
      data: { tasks_per_sec: result.tasks_per_sec, profiles: result.profiles ?? [] },
    };
  },
};

/** The same end-to-end load with the API in one process and 1, then 2, worker processes. */
export const endToEndWorkersScenario: Scenario = {
  name: 'e2e-workers',
  title: 'End to end, separate worker processes',
  worksWithUrl: false,
  async run(ctx): Promise<ScenarioOutput> {
    const rows: ReportRow[] = [];
    const data: Record<string, unknown> = {};
    let single: number | null = null;
    for (const workers of ctx.sizes.workerCounts) {
      const result = await runEndToEnd(ctx, `e2e-${workers}w`, { kind: 'split', workers });
      data[`workers_${workers}`] = result;
      rows.push(...endToEndRows(result));
      if (workers === 1) single = result.tasks_per_sec;
      else if (single && result.tasks_per_sec)
        rows.push({ metric: `scaling 1 → ${workers} workers`, value: ratio(result.tasks_per_sec / single) });
    }
    return { rows, data };
  },
};
