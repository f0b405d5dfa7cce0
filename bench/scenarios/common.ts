import { requestJson } from '../lib/http';
import { runLoad } from '../lib/load';
import type { Topology } from '../lib/service';
import { pollUntil, sleep } from '../lib/time';
import type { BenchContext } from './types';

/**
 * The task every load creates: a real `health_check` that probes PostgreSQL only — the
 * lightest payload the API accepts (`checks` needs at least one component), so the figures
 * show the service's own cost per task, plus one `SELECT 1`.
 */
export const HEALTH_PAYLOAD = { checks: ['database'] } as const;

export function taskRequest(kbId: string): Record<string, unknown> {
  return { task_type: 'health_check', kb_id: kbId, payload: HEALTH_PAYLOAD };
}

/** A kb id unique to this run and scenario, so each scenario's tasks can be counted apart. */
export function kbFor(ctx: BenchContext, scenario: string): string {
  return `kb_bench_${scenario.replace(/[^A-Za-z0-9]/g, '_')}_${ctx.runId}`;
}

export interface KbProgress {
  total: number;
  completed: number;
  failed: number;
  /** Epoch ms of the last completion, from PostgreSQL's clock (the same machine clock as ours). */
  lastCompletedAt: number | null;
}

export async function kbProgress(ctx: BenchContext, kbId: string): Promise<KbProgress> {
  const { rows } = await ctx.pool.query<{ total: string; completed: string; failed: string; last: number | null }>(
    `SELECT count(*) AS total,
            count(*) FILTER (WHERE status = 'completed') AS completed,
            count(*) FILTER (WHERE status = 'failed') AS failed,
            (extract(epoch FROM max(completed_at)) * 1000)::float8 AS last
       FROM tasks WHERE kb_id = $1`,
    [kbId],
  );
  const r = rows[0];
  return { total: Number(r.total), completed: Number(r.completed), failed: Number(r.failed), lastCompletedAt: r.last };
}

/**
 * Waits until every task stored under the kb has finished (completed or failed), and at
 * least `accepted` exist. Counting rows, not 201 answers, matters: a request that timed out
 * or answered 5xx may still have stored its tasks, and those are work the workers must do.
 */
export function waitForKb(ctx: BenchContext, kbId: string, accepted: number, timeoutMs: number): Promise<KbProgress> {
  return pollUntil(
    () => kbProgress(ctx, kbId),
    (p) => p.total >= accepted && p.completed + p.failed >= p.total,
    {
      intervalMs: 200,
      timeoutMs,
      what: `every task of ${kbId} finished`,
      describe: (p) => `${p.completed} completed, ${p.failed} failed of ${p.total} stored (${accepted} accepted)`,
    },
  );
}

/**
 * Waits until no task is queued (due) or processing, so a scenario does not measure the
 * previous one's backlog. Returns how long that took, in seconds.
 */
export async function waitForDrain(ctx: BenchContext, before: string): Promise<number> {
  const started = Date.now();
  let announced = false;
  await pollUntil(
    async () => {
      const { rows } = await ctx.pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM tasks
          WHERE status = 'processing' OR (status = 'queued' AND (schedule_for IS NULL OR schedule_for <= now()))`,
      );
      const n = Number(rows[0].n);
      if (n > 0 && !announced && Date.now() - started > 2000) {
        ctx.log(`waiting for ${n} unfinished task(s) to drain before ${before}`);
        announced = true;
      }
      return n;
    },
    (n) => n === 0,
    {
      intervalMs: 500,
      timeoutMs: ctx.sizes.drainTimeoutMs,
      what: `backlog drained before ${before}`,
      describe: (n) => `${n} unfinished`,
    },
  );
  return (Date.now() - started) / 1000;
}

/** Runs `work` over items with at most `limit` in flight. */
export async function inParallel<T>(
  items: T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index], index);
    }
  });
  await Promise.all(lanes);
}

/** pg_stat counters are flushed by backends about once a second: let the last ones land. */
export const settleStats = (): Promise<void> => sleep(1200);

/**
 * Switches the service to `topology`. A process we just started is warmed up first — JIT,
 * connection pools, the presenter's caches — with a short load that is not measured, then
 * drained, so no scenario reports a cold start.
 */
export async function useTopology(
  ctx: BenchContext,
  topology: Topology,
  options: { profileDir?: string | null; env?: Record<string, string> } = {},
): Promise<void> {
  if (!ctx.cluster) return;
  if (!(await ctx.cluster.ensure(topology, options))) return;
  const kb = kbFor(ctx, 'warmup');
  const seconds = ctx.options.quick ? 0.5 : 3;
  ctx.log(`warming up the service (${seconds} s of POSTs, two batches, GETs)`);
  await runLoad({
    url: `${ctx.apiUrl}/api/v1/tasks`,
    method: 'POST',
    body: JSON.stringify(taskRequest(kb)),
    connections: 10,
    durationSeconds: seconds,
  });
  const batch = JSON.stringify(Array.from({ length: 100 }, () => taskRequest(kb)));
  for (let i = 0; i < 2; i++) await requestJson(`${ctx.apiUrl}/api/v1/tasks/batch`, { body: batch, timeoutMs: 60_000 });
  await waitForDrain(ctx, 'the measurement');
  await runLoad({
    url: `${ctx.apiUrl}/api/v1/tasks?kb_id=${kb}&page_size=20`,
    connections: 4,
    durationSeconds: seconds / 2,
  });
}

/** Starts the default deployment (one process, both roles) unless --url points elsewhere. */
export const ensureBoth = (ctx: BenchContext): Promise<void> => useTopology(ctx, { kind: 'both' });

/** Highest RSS of any service process while `phase` ran. */
export function rssMax(ctx: BenchContext, phase: string): number | null {
  const maxes = ctx.rss.summary(phase).map((s) => s.maxMb ?? 0);
  return maxes.length ? Math.max(...maxes) : null;
}
