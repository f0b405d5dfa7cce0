import { microsPerRequest, withCpu } from '../lib/cpu';
import { mb, num, pair } from '../lib/format';
import { requestJson } from '../lib/http';
import { runLoad } from '../lib/load';
import { ensureBoth, kbFor, rssMax, taskRequest, waitForDrain, waitForKb } from './common';
import { perRequest } from './floor';
import type { BenchContext, Scenario, ScenarioOutput } from './types';

const SAMPLE_IDS = 2000;

/** Ids to read: a random sample of what earlier scenarios created; some are made first if there are too few. */
async function sampleTaskIds(ctx: BenchContext): Promise<string[]> {
  const pick = async () =>
    (await ctx.pool.query<{ id: string }>('SELECT id FROM tasks ORDER BY random() LIMIT $1', [SAMPLE_IDS])).rows.map(
      (r) => r.id,
    );
  let ids = await pick();
  if (ids.length >= Math.min(SAMPLE_IDS, 500)) return ids;
  const kb = kbFor(ctx, 'get');
  const count = 500;
  const response = await requestJson(`${ctx.apiUrl}/api/v1/tasks/batch`, {
    body: Array.from({ length: count }, () => taskRequest(kb)),
  });
  if (response.status !== 201) throw new Error(`could not create tasks to read: HTTP ${response.status}`);
  await waitForKb(ctx, kb, count, 120_000);
  ids = await pick();
  return ids;
}

/**
 * `GET /api/v1/tasks/{id}` on random existing ids (mostly finished tasks, as a client polling
 * its tasks would see), closed loop at a moderate concurrency.
 */
export const getScenario: Scenario = {
  name: 'get',
  title: 'GET /api/v1/tasks/{id}',
  worksWithUrl: true,
  async run(ctx): Promise<ScenarioOutput> {
    await ensureBoth(ctx);
    await waitForDrain(ctx, 'GET');
    const ids = await sampleTaskIds(ctx);
    ctx.rss.setPhase('get');
    const measured = await withCpu(ctx.cluster?.pids() ?? [], () =>
      runLoad({
        url: `${ctx.apiUrl}/api/v1/tasks`,
        connections: ctx.sizes.getConnections,
        durationSeconds: ctx.sizes.getSeconds,
        nextPath: () => `/api/v1/tasks/${ids[Math.floor(Math.random() * ids.length)]}`,
      }),
    );
    const load = measured.result;
    const cpu: Record<string, number | null> = {
      ...microsPerRequest(measured.seconds, load.requests),
      harness: perRequest(measured, load),
    };
    return {
      rows: [
        {
          metric: `req/s (${load.connections} connections, ${load.durationSeconds} s, ${ids.length} ids)`,
          value: num(load.reqPerSec),
        },
        { metric: 'latency p50 / p99', value: pair(load.latencyMs.p50, load.latencyMs.p99) },
        { metric: 'non-2xx / errors', value: `${num(load.non2xx)} / ${num(load.errors)}` },
        { metric: 'CPU µs per request: service / autocannon', value: `${num(cpu.total)} / ${num(cpu.harness)}` },
        { metric: 'RSS max during load', value: mb(rssMax(ctx, 'get')) },
      ],
      data: { ...load, cpu_us_per_request: cpu, distinct_ids: ids.length, rss_max_mb: rssMax(ctx, 'get') },
    };
  },
};
