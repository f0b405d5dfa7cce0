import { mb, num, pair } from '../lib/format';
import { PacedResult, runPaced } from '../lib/http';
import { round } from '../lib/stats';
import { ensureBoth, kbFor, rssMax, taskRequest, useTopology, waitForDrain, waitForKb } from './common';
import type { BenchContext, Scenario, ScenarioOutput } from './types';

export interface TaskLatencies {
  tasks: number;
  queueP50: number | null;
  queueP99: number | null;
  queueMax: number | null;
  totalP50: number | null;
  totalP99: number | null;
  totalMax: number | null;
  /** Tasks completed per second from the first insert to the last completion: what the service sustained. */
  completedPerSec: number | null;
}

/**
 * Queue latency (started_at − created_at) and total latency (completed_at − created_at) in
 * ms, from the rows themselves: created_at is stamped by PostgreSQL at insert, the others by
 * the worker, all with millisecond precision on one machine clock.
 */
async function taskLatencies(ctx: BenchContext, kbId: string): Promise<TaskLatencies> {
  const { rows } = await ctx.pool.query<Record<string, number | string | null>>(
    `SELECT count(*) AS tasks,
            percentile_disc(0.5)  WITHIN GROUP (ORDER BY q) AS queue_p50,
            percentile_disc(0.99) WITHIN GROUP (ORDER BY q) AS queue_p99,
            max(q) AS queue_max,
            percentile_disc(0.5)  WITHIN GROUP (ORDER BY t) AS total_p50,
            percentile_disc(0.99) WITHIN GROUP (ORDER BY t) AS total_p99,
            max(t) AS total_max,
            count(*) / nullif(extract(epoch FROM max(completed_at) - min(created_at))::float8, 0) AS rate
       FROM (SELECT created_at, completed_at,
                    extract(epoch FROM started_at - created_at)::float8 * 1000 AS q,
                    extract(epoch FROM completed_at - created_at)::float8 * 1000 AS t
               FROM tasks WHERE kb_id = $1 AND status = 'completed') x`,
    [kbId],
  );
  const r = rows[0];
  const n = (v: number | string | null) => (v === null ? null : round(Number(v), 1));
  return {
    tasks: Number(r.tasks),
    queueP50: n(r.queue_p50),
    queueP99: n(r.queue_p99),
    queueMax: n(r.queue_max),
    totalP50: n(r.total_p50),
    totalP99: n(r.total_p99),
    totalMax: n(r.total_max),
    completedPerSec: r.rate === null ? null : round(Number(r.rate), 0),
  };
}

interface PacedOutcome {
  http: PacedResult;
  latencies: TaskLatencies;
  failedTasks: number;
  /** Tasks stored, which can exceed the 2xx answers when requests time out after the insert. */
  stored: number;
}

/** Creates tasks one POST at a time at a fixed rate, waits for all of them, and reads their latencies. */
async function pacedTasks(ctx: BenchContext, name: string, rate: number, seconds: number): Promise<PacedOutcome> {
  const kb = kbFor(ctx, name);
  const body = JSON.stringify(taskRequest(kb));
  const url = `${ctx.apiUrl}/api/v1/tasks`;
  const http = await runPaced({
    rate,
    seconds,
    send: async () => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer();
      return response.status;
    },
    onTick: (s) => {
      if (s % 30 === 0) ctx.log(`${name}: ${s} s of ${seconds} s`);
    },
  });
  const progress = await waitForKb(ctx, kb, http.ok, 120_000 + seconds * 1000);
  return { http, latencies: await taskLatencies(ctx, kb), failedTasks: progress.failed, stored: progress.total };
}

function latencyRows(result: PacedOutcome) {
  const { http, latencies } = result;
  const offered = http.achievedRate;
  const kept = latencies.completedPerSec !== null && latencies.completedPerSec >= offered * 0.95;
  return [
    {
      metric: 'tasks completed per second (sustained)',
      value: `${num(latencies.completedPerSec)}${kept ? '' : ` — below the ${num(offered)}/s offered: the service fell behind, so latencies include queueing`}`,
    },
    { metric: 'queue latency p50 / p99 (started − created)', value: pair(latencies.queueP50, latencies.queueP99) },
    { metric: 'total latency p50 / p99 (completed − created)', value: pair(latencies.totalP50, latencies.totalP99) },
    { metric: 'POST latency p50 / p99 at this rate', value: pair(http.latencyMs.p50, http.latencyMs.p99) },
    {
      metric: 'requests sent / failed (why) / tasks stored / failed',
      value: `${num(http.sent)} / ${num(http.failed)}${http.failed ? ` ${JSON.stringify(http.failures)}` : ''} / ${num(result.stored)} / ${num(result.failedTasks)}`,
    },
  ];
}

/** The latency run's table and data, on whichever topology the caller switched to. */
async function latencyRun(ctx: BenchContext, name: string): Promise<ScenarioOutput> {
  await waitForDrain(ctx, name);
  ctx.rss.setPhase(name);
  const rate = ctx.sizes.latencyRate;
  const result = await pacedTasks(ctx, name, rate, ctx.sizes.latencySeconds);
  return {
    rows: [
      { metric: `rate (tasks/s) × seconds`, value: `${num(result.http.achievedRate)} × ${ctx.sizes.latencySeconds}` },
      ...latencyRows(result),
    ],
    data: {
      rate,
      seconds: ctx.sizes.latencySeconds,
      http: result.http,
      stored: result.stored,
      failed_tasks: result.failedTasks,
      ...result.latencies,
    },
  };
}

/** Latency at a steady, moderate rate (200 tasks/s): how long a task waits and runs when nothing is backed up. */
export const latencyScenario: Scenario = {
  name: 'latency',
  title: 'Task latency at a steady rate',
  worksWithUrl: true,
  async run(ctx): Promise<ScenarioOutput> {
    await ensureBoth(ctx);
    return latencyRun(ctx, 'latency');
  },
};

/**
 * The same run with the API in its own process and the workers in another (issue 13's
 * topology question): whether task CPU kept off the API's event loop shortens the POSTs and
 * the queue wait, read against `latency` in the same run.
 */
export const latencySplitScenario: Scenario = {
  name: 'latency-split',
  title: 'Task latency at a steady rate, API and workers in separate processes',
  worksWithUrl: false,
  async run(ctx): Promise<ScenarioOutput> {
    await useTopology(ctx, { kind: 'split', workers: 1 });
    return latencyRun(ctx, 'latency-split');
  },
};

/**
 * A long run at the steady rate (default 5 minutes at 200/s) with RSS sampled throughout:
 * does memory stay flat, and does latency hold?
 */
export const steadyScenario: Scenario = {
  name: 'steady',
  title: 'Steady run (RSS)',
  worksWithUrl: true,
  async run(ctx): Promise<ScenarioOutput> {
    await ensureBoth(ctx);
    await waitForDrain(ctx, 'steady');
    const rate = ctx.sizes.steadyRate;
    const seconds = ctx.sizes.steadySeconds;
    ctx.rss.setPhase('steady');
    const result = await pacedTasks(ctx, 'steady', rate, seconds);
    ctx.rss.setPhase('after-steady');
    const rss = ctx.rss.summary('steady');
    const growth = rss.map((r) => ({ role: r.role, ...ctx.rss.growth('steady', r.role) }));
    const measured = rss.length > 0;
    return {
      rows: [
        { metric: `rate (tasks/s) × seconds`, value: `${num(result.http.achievedRate)} × ${seconds}` },
        ...rss.map((r) => ({
          metric: `RSS ${r.role} start / end / max`,
          value: `${mb(r.startMb)} / ${mb(r.endMb)} / ${mb(r.maxMb)}`,
        })),
        ...growth.map((g) => ({
          metric: `RSS ${g.role} grew? (median first vs last 10 %)`,
          value:
            g.grew === null ? '— (too few samples)' : `${g.grew ? 'yes' : 'no'} (${mb(g.firstMb)} → ${mb(g.lastMb)})`,
        })),
        ...(measured ? [] : [{ metric: 'RSS', value: 'not measured (--url without --pid)' }]),
        ...latencyRows(result),
      ],
      data: {
        rate,
        seconds,
        http: result.http,
        stored: result.stored,
        failed_tasks: result.failedTasks,
        ...result.latencies,
        rss,
        rss_growth: growth,
        rss_max_mb: rssMax(ctx, 'steady'),
      },
    };
  },
};
