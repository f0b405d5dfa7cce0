import autocannon from 'autocannon';
import { round } from './stats';
import { withDeadline } from './time';

/** One closed-loop HTTP load (autocannon): a fixed number of connections, each sending as fast as answered. */
export interface LoadSpec {
  url: string;
  connections: number;
  durationSeconds: number;
  method?: 'GET' | 'POST';
  body?: string;
  /** Picks the path of each request (e.g. a random task id); otherwise the url's path is used. */
  nextPath?: () => string;
  /** Per-request timeout in seconds. */
  requestTimeoutSeconds?: number;
  /** Seconds of the same load first, not measured (a freshly (re)started reader's caches). */
  warmupSeconds?: number;
}

export interface LoadResult {
  connections: number;
  durationSeconds: number;
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  reqPerSec: number;
  latencyMs: { p50: number | null; p99: number | null; mean: number | null; max: number | null };
  statusCodes: Record<string, number>;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  if (spec.warmupSeconds) await runLoad({ ...spec, durationSeconds: spec.warmupSeconds, warmupSeconds: 0 });
  const headers = spec.body ? { 'content-type': 'application/json' } : undefined;
  const instance = autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationSeconds,
    timeout: spec.requestTimeoutSeconds ?? 10,
    method: spec.method ?? 'GET',
    headers,
    body: spec.body,
    ...(spec.nextPath ? { requests: [{ setupRequest: (request) => ({ ...request, path: spec.nextPath!() }) }] } : {}),
  });
  // autocannon stops itself after `duration`; the deadline only guards against a wedged server.
  const deadlineMs = (spec.durationSeconds + (spec.requestTimeoutSeconds ?? 10) + 15) * 1000;
  let result: autocannon.Result;
  try {
    result = await withDeadline(Promise.resolve(instance), deadlineMs, `load on ${spec.url}`);
  } catch (error) {
    instance.stop();
    throw error;
  }
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count]),
  );
  const ok = result['2xx'];
  return {
    connections: spec.connections,
    durationSeconds: round(result.duration, 2) ?? spec.durationSeconds,
    requests: ok + result.non2xx,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    reqPerSec: round((ok + result.non2xx) / result.duration, 0) ?? 0,
    latencyMs: {
      p50: round(result.latency.p50, 2),
      p99: round(result.latency.p99, 2),
      mean: round(result.latency.average, 2),
      max: round(result.latency.max, 2),
    },
    statusCodes,
  };
}
