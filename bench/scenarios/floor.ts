import { mb, num, pair } from '../lib/format';
import { runLoad } from '../lib/load';
import { ManagedProcess } from '../lib/processes';
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
function getLoad(ctx: BenchContext, url: string) {
  return runLoad({ url, connections: ctx.sizes.getConnections, durationSeconds: ctx.sizes.getSeconds, warmupSeconds: ctx.options.quick ? 0 : 1 });
}

export const floorScenario: Scenario = {
  name: 'floor',
  title: 'Floor: a bare node:http server, constant JSON',
  worksWithUrl: true,
  async run(ctx): Promise<ScenarioOutput> {
    const server = new ManagedProcess({ name: 'bare-http', command: process.execPath, args: ['-e', BARE_SERVER], cwd: ctx.rootDir, env: process.env });
    const url = `http://127.0.0.1:${FLOOR_PORT}/`;
    try {
      await pollUntil(
        () => fetch(url, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false),
        (ok) => ok || !server.running,
        { intervalMs: 100, timeoutMs: 10_000, what: 'the bare server listening' },
      );
      if (!server.running) throw new Error(`the bare server exited: ${server.tail()}`);
      const load = await getLoad(ctx, url);
      return {
        rows: [
          { metric: `req/s (${load.connections} connections, ${load.durationSeconds} s)`, value: num(load.reqPerSec) },
          { metric: 'latency p50 / p99', value: pair(load.latencyMs.p50, load.latencyMs.p99) },
        ],
        data: { ...load },
      };
    } finally {
      await server.stop('SIGTERM', 5000);
    }
  },
};

/** `GET /health/live`: a constant answer through the service's whole per-request stack. */
export const liveScenario: Scenario = {
  name: 'live',
  title: 'GET /health/live',
  worksWithUrl: true,
  async run(ctx): Promise<ScenarioOutput> {
    await ensureBoth(ctx);
    ctx.rss.setPhase('live');
    const load = await getLoad(ctx, `${ctx.apiUrl}/health/live`);
    return {
      rows: [
        { metric: `req/s (${load.connections} connections, ${load.durationSeconds} s)`, value: num(load.reqPerSec) },
        { metric: 'latency p50 / p99', value: pair(load.latencyMs.p50, load.latencyMs.p99) },
        { metric: 'non-2xx / errors', value: `${num(load.non2xx)} / ${num(load.errors)}` },
        { metric: 'RSS max during load', value: mb(rssMax(ctx, 'live')) },
      ],
      data: { ...load, rss_max_mb: rssMax(ctx, 'live') },
    };
  },
};
