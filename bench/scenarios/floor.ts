import { microsPerRequest, withCpu } from '../lib/cpu';
import { mb, num, pair } from '../lib/format';
import { LoadResult, runLoad } from '../lib/load';
import { ManagedProcess } from '../lib/processes';
import { round } from '../lib/stats';
import { pollUntil } from '../lib/time';
import { ensureBoth, rssMax } from './common';
import type { BenchContext, Scenario, ScenarioOutput } from './types';

/** Where the bare server listens: next to the service's port, never the same. */
const FLOOR_PORT = 18085;

/**
 * The runtime's own floor: a bare `node:http` server in its own process answering every
 * request with a constant JSON body, the shape of `/health/live`. What the machine does for
 * HTTP with no framework at all, measured by the same autocannon, on the same cores, in the
 * same run: the HTTP scenarios are read as ratios to it, which the machine's noise moves far
 * less than their absolute figures.
 */
const BARE_SERVER = `
const body = JSON.stringify({ status: 'ok' });
require('node:http')
  .createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  })
  .listen(${FLOOR_PORT}, '127.0.0.1');
`;

/** Autocannon GET at the GET scenario's concurrency and length, so the ratios compare like with like. */
function getLoad(ctx: BenchContext, url: string, durationSeconds = ctx.sizes.getSeconds) {
  return runLoad({
    url,
    connections: ctx.sizes.getConnections,
    durationSeconds,
    warmupSeconds: ctx.options.quick ? 0 : 1,
  });
}

/** Runs `work` with the bare server listening; stops it afterwards. */
async function withBareServer<T>(ctx: BenchContext, work: (url: string, pid: number) => Promise<T>): Promise<T> {
  const server = new ManagedProcess({
    name: 'bare-http',
    command: process.execPath,
    args: ['-e', BARE_SERVER],
    cwd: ctx.rootDir,
    env: process.env,
  });
  const url = `http://127.0.0.1:${FLOOR_PORT}/`;
  try {
    await pollUntil(
      () =>
        fetch(url, { signal: AbortSignal.timeout(1000) }).then(
          (r) => r.ok,
          () => false,
        ),
      (ok) => ok || !server.running,
      { intervalMs: 100, timeoutMs: 10_000, what: 'the bare server listening' },
    );
    if (!server.running) throw new Error(`the bare server exited: ${server.tail()}`);
    return await work(url, server.pid);
  } finally {
    await server.stop('SIGTERM', 5000);
  }
}

/** The harness's (autocannon's) CPU µs per request of a measured load. */
export const perRequest = (measured: { harnessSeconds: number }, load: { requests: number }): number | null =>
  load.requests > 0 ? round((measured.harnessSeconds * 1e6) / load.requests, 0) : null;

/** Requests per second over several loads together. */
const rate = (loads: LoadResult[]) =>
  round(loads.reduce((n, l) => n + l.requests, 0) / loads.reduce((t, l) => t + l.durationSeconds, 0), 0) ?? 0;

export const floorScenario: Scenario = {
  name: 'floor',
  title: 'Floor: a bare node:http server, constant JSON',
  worksWithUrl: true,
  async run(ctx): Promise<ScenarioOutput> {
    const measured = await withBareServer(ctx, (url, pid) => withCpu([{ role: 'bare', pid }], () => getLoad(ctx, url)));
    const load = measured.result;
    const cpu: Record<string, number | null> = {
      ...microsPerRequest(measured.seconds, load.requests),
      harness: perRequest(measured, load),
    };
    return {
      rows: [
        { metric: `req/s (${load.connections} connections, ${load.durationSeconds} s)`, value: num(load.reqPerSec) },
        { metric: 'latency p50 / p99', value: pair(load.latencyMs.p50, load.latencyMs.p99) },
        { metric: 'CPU µs per request: server / autocannon', value: `${num(cpu.bare)} / ${num(cpu.harness)}` },
      ],
      data: { ...load, cpu_us_per_request: cpu },
    };
  },
};

/** Slices of each load: on a shared machine the load of others changes within seconds, so both are measured in the same stretch of time. */
const SLICES = 5;

/**
 * `GET /health/live`: a constant answer through the service's whole per-request stack,
 * measured in slices that alternate with the bare server's (2 s each, five of each), so
 * its ratio to the floor (`floor_interleaved`) is read from the same stretch of time.
 */
export const liveScenario: Scenario = {
  name: 'live',
  title: 'GET /health/live',
  worksWithUrl: true,
  async run(ctx): Promise<ScenarioOutput> {
    await ensureBoth(ctx);
    ctx.rss.setPhase('live');
    const seconds = Math.max(1, Math.round(ctx.sizes.getSeconds / SLICES));
    const servicePids = ctx.cluster?.pids() ?? [];
    const { live, bare, cpu } = await withBareServer(ctx, async (bareUrl, barePid) => {
      const out = { live: [] as LoadResult[], bare: [] as LoadResult[], cpu: { live: 0, bare: 0 } };
      for (let i = 0; i < SLICES; i++) {
        const b = await withCpu([{ role: 'bare', pid: barePid }], () => getLoad(ctx, bareUrl, seconds));
        out.bare.push(b.result);
        out.cpu.bare += b.seconds.bare;
        const l = await withCpu(servicePids, () => getLoad(ctx, `${ctx.apiUrl}/health/live`, seconds));
        out.live.push(l.result);
        out.cpu.live += Object.values(l.seconds).reduce((a, x) => a + x, 0);
      }
      return out;
    });
    const requests = (loads: LoadResult[]) => loads.reduce((n, l) => n + l.requests, 0);
    const cpuUs = {
      service: microsPerRequest({ service: cpu.live }, requests(live)).service,
      bare: microsPerRequest({ bare: cpu.bare }, requests(bare)).bare,
    };
    const liveRate = rate(live);
    const bareRate = rate(bare);
    const worstP99 = Math.max(...live.map((l) => l.latencyMs.p99 ?? 0));
    const non2xx = live.reduce((n, l) => n + l.non2xx, 0);
    const errors = live.reduce((n, l) => n + l.errors, 0);
    const ratioToFloor = bareRate === 0 ? null : round(liveRate / bareRate, 3);
    return {
      rows: [
        { metric: `req/s (${ctx.sizes.getConnections} connections, ${SLICES} × ${seconds} s)`, value: num(liveRate) },
        { metric: 'bare node:http in the slices between', value: `${num(bareRate)} req/s` },
        { metric: '/health/live / bare, same slices', value: ratioToFloor === null ? '—' : `${num(ratioToFloor, 3)}×` },
        { metric: 'latency p50 (first slice) / worst slice p99', value: pair(live[0].latencyMs.p50, worstP99) },
        { metric: 'non-2xx / errors', value: `${num(non2xx)} / ${num(errors)}` },
        {
          metric: 'CPU µs per request: service / bare server',
          value: servicePids.length ? `${num(cpuUs.service)} / ${num(cpuUs.bare)}` : `— / ${num(cpuUs.bare)}`,
        },
        { metric: 'RSS max during load', value: mb(rssMax(ctx, 'live')) },
      ],
      data: {
        reqPerSec: liveRate,
        cpu_us_per_request: servicePids.length ? cpuUs : { bare: cpuUs.bare },
        floor_interleaved_req_per_sec: bareRate,
        ratio_to_floor_interleaved: ratioToFloor,
        latencyMs: { p50: live[0].latencyMs.p50, p99: worstP99 },
        non2xx,
        errors,
        slices: { live, bare },
        rss_max_mb: rssMax(ctx, 'live'),
      },
    };
  },
};
