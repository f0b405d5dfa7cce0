import { microsPerRequest, withCpu } from '../lib/cpu';
import { mb, num, pair } from '../lib/format';
import { runLoad } from '../lib/load';
import { round } from '../lib/stats';
import { ensureBoth, kbFor, rssMax, taskRequest, waitForDrain } from './common';
import { perRequest } from './floor';
import type { Scenario, ScenarioOutput } from './types';

/**
 * `POST /api/v1/tasks`, closed loop at 50 connections. The service runs both roles, as
 * `npm start` does, so its workers process what the load creates while it is created —
 * the API's figures include that competition for the CPU.
 */
export const postScenario: Scenario = {
  name: 'post',
  title: 'POST /api/v1/tasks',
  worksWithUrl: true,
  async run(ctx): Promise<ScenarioOutput> {
    await ensureBoth(ctx);
    await waitForDrain(ctx, 'POST');
    const kb = kbFor(ctx, 'post');
    // The warmed-up process before any load: the floor the other RSS figures compare with.
    const idleRss = ctx.rss.now();
    ctx.rss.setPhase('post');
    const measured = await withCpu(ctx.cluster?.pids() ?? [], () =>
      runLoad({
        url: `${ctx.apiUrl}/api/v1/tasks`,
        method: 'POST',
        body: JSON.stringify(taskRequest(kb)),
        connections: ctx.sizes.postConnections,
        durationSeconds: ctx.sizes.postSeconds,
      }),
    );
    const load = measured.result;
    // The service runs both roles here, so this includes running some of the tasks created.
    const cpu: Record<string, number | null> = {
      ...microsPerRequest(measured.seconds, load.requests),
      harness: perRequest(measured, load),
    };
    ctx.rss.setPhase('post-drain');
    // What the load left queued is worked off before the next scenario; how fast is worth knowing.
    const drainSeconds = await waitForDrain(ctx, 'the next scenario');
    const created = load.statusCodes['201'] ?? 0;
    return {
      rows: [
        { metric: `req/s (${load.connections} connections, ${load.durationSeconds} s)`, value: num(load.reqPerSec) },
        { metric: 'latency p50 / p99', value: pair(load.latencyMs.p50, load.latencyMs.p99) },
        { metric: 'non-2xx / errors', value: `${num(load.non2xx)} / ${num(load.errors)}` },
        { metric: 'backlog left, drained in', value: `${num(created)} tasks, ${num(drainSeconds, 1)} s` },
        {
          metric: 'RSS before the load (warmed up, idle)',
          value: idleRss.map((r) => `${r.role} ${mb(r.mb)}`).join(', ') || '—',
        },
        {
          metric: 'CPU µs per request: service (API and workers) / autocannon',
          value: `${num(cpu.total)} / ${num(cpu.harness)}`,
        },
        { metric: 'RSS max during load', value: mb(rssMax(ctx, 'post')) },
      ],
      data: {
        ...load,
        cpu_us_per_request: cpu,
        created,
        drain_seconds: round(drainSeconds, 1),
        rss_idle_mb: idleRss,
        rss_max_mb: rssMax(ctx, 'post'),
      },
    };
  },
};

/** `POST /api/v1/tasks/batch` with 500 tasks per request: throughput in tasks, not requests. */
export const batchScenario: Scenario = {
  name: 'batch',
  title: 'POST /api/v1/tasks/batch',
  worksWithUrl: true,
  async run(ctx): Promise<ScenarioOutput> {
    await ensureBoth(ctx);
    await waitForDrain(ctx, 'batch');
    const kb = kbFor(ctx, 'batch');
    const body = JSON.stringify(Array.from({ length: ctx.sizes.batchSize }, () => taskRequest(kb)));
    ctx.rss.setPhase('batch');
    const load = await runLoad({
      url: `${ctx.apiUrl}/api/v1/tasks/batch`,
      method: 'POST',
      body,
      connections: ctx.sizes.batchConnections,
      durationSeconds: ctx.sizes.batchSeconds,
      requestTimeoutSeconds: 60,
    });
    ctx.rss.setPhase('batch-drain');
    const created = (load.statusCodes['201'] ?? 0) * ctx.sizes.batchSize;
    const tasksPerSec = round(created / load.durationSeconds, 0);
    const drainSeconds = await waitForDrain(ctx, 'the next scenario');
    return {
      rows: [
        {
          metric: `tasks/s (${ctx.sizes.batchSize}/request, ${load.connections} connections, ${load.durationSeconds} s)`,
          value: num(tasksPerSec),
        },
        { metric: 'request latency p50 / p99', value: pair(load.latencyMs.p50, load.latencyMs.p99) },
        {
          metric: 'requests ok / non-2xx / errors',
          value: `${num(load.ok)} / ${num(load.non2xx)} / ${num(load.errors)}`,
        },
        { metric: 'backlog left, drained in', value: `${num(created)} tasks, ${num(drainSeconds, 1)} s` },
        { metric: 'RSS max during load', value: mb(rssMax(ctx, 'batch')) },
      ],
      data: {
        ...load,
        batch_size: ctx.sizes.batchSize,
        tasks_per_sec: tasksPerSec,
        created,
        drain_seconds: round(drainSeconds, 1),
        rss_max_mb: rssMax(ctx, 'batch'),
      },
    };
  },
};
