import { num } from './format';
import type { Outcomes } from './targets';

/**
 * What holds a missed target back, worked out from the run's own measurements (issue 13:
 * "says by how much it misses and what bounds it, with the profile that shows it"). Each
 * explanation is arithmetic on figures of this run, never a constant.
 */

type Data = Record<string, unknown> | undefined;

function at(d: Data, ...path: string[]): unknown {
  let cur: unknown = d;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

const numberAt = (d: Data, ...path: string[]): number | null => {
  const v = at(d, ...path);
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};

/** The profile's three biggest categories: the e2e scenario's (with --profile), else the full run's e2e-profile pass. */
function profileTop(o: Outcomes): string {
  const categoriesOf = (d: Data) =>
    (at(d, 'profiles') as { categories?: { category: string; percent: number }[] }[] | undefined)?.[0]?.categories;
  const categories = categoriesOf(o.e2e?.data) ?? categoriesOf(o['e2e-profile']?.data);
  if (!categories?.length) return ' (no profile in this run: see the e2e-profile scenario, or run with --profile)';
  return `; the profile: ${categories
    .slice(0, 3)
    .map((c) => `${c.category} ${num(c.percent, 0)} %`)
    .join(', ')}`;
}

/** End to end: the CPU every component spends per task, and the rate the machine's cores allow at that cost. */
export function endToEndBound(o: Outcomes, cpus: number): string | null {
  const e2e = o.e2e?.data;
  const perTask = at(e2e, 'cpu_ms_per_task') as Record<string, number | null> | undefined;
  const reached = numberAt(e2e, 'tasks_per_sec');
  if (!perTask || reached === null) return null;
  const parts = Object.entries(perTask).filter((entry): entry is [string, number] => entry[1] !== null);
  const total = parts.reduce((sum, [, ms]) => sum + ms, 0);
  if (total <= 0) return null;
  const ceiling = (cpus * 1000) / total;
  return (
    `CPU: ${parts.map(([name, ms]) => `${name.replace('service_', 'service ')} ${num(ms, 2)}`).join(' + ')} = ` +
    `${num(total, 2)} ms per task; ${cpus} cores allow at most ${num(ceiling)} tasks/s at that cost ` +
    `(this run reached ${num((reached / ceiling) * 100)} % of it)${profileTop(o)}`
  );
}

/** An HTTP route against the bare server: CPU per request of each, which caps the ratio when a core is the limit. */
export function httpRatioBound(o: Outcomes, scenario: string): string | null {
  const d = o[scenario]?.data;
  const ours = numberAt(d, 'cpu_us_per_request', scenario === 'live' ? 'service' : 'total');
  const bare = numberAt(d, 'cpu_us_per_request', 'bare') ?? numberAt(o.floor?.data, 'cpu_us_per_request', 'bare');
  if (ours === null || bare === null || ours === 0) return null;
  return (
    `CPU per request: the service ${num(ours)} µs, the bare server ${num(bare)} µs — with a core each ` +
    `the ratio cannot pass ${num(bare / ours, 3)}×` +
    (scenario === 'post' ? ' (the service also runs the created tasks here: both roles in one process)' : '')
  );
}

/** A closed-loop latency target: by Little's law the mean latency is connections ÷ throughput. */
export function closedLoopBound(o: Outcomes, scenario: string, thresholdMs: number): string | null {
  const d = o[scenario]?.data;
  const connections = numberAt(d, 'connections');
  const rate = numberAt(d, 'reqPerSec');
  if (connections === null || rate === null || rate === 0) return null;
  const cpu = numberAt(d, 'cpu_us_per_request', 'total');
  return (
    `Little's law: ${num(connections)} connections at ${num(rate)} req/s wait ${num((connections / rate) * 1000, 1)} ms ` +
    `on average; a p99 under ${num(thresholdMs)} ms needs well over ${num((connections / thresholdMs) * 1000)} req/s` +
    (cpu === null ? '' : `, and ${num(cpu)} µs of service CPU per request allows ${num(1e6 / cpu)} req/s on one core`)
  );
}

/** Queue latency at a paced rate: how busy the machine was, and what splitting the roles changed in the same run. */
export function queueLatencyBound(o: Outcomes, scenario: string, cpus: number): string | null {
  const perTask = at(o.e2e?.data, 'cpu_ms_per_task') as Record<string, number | null> | undefined;
  const rate = numberAt(o[scenario]?.data, 'rate');
  const notes: string[] = [];
  if (perTask && rate !== null) {
    const total = Object.values(perTask).reduce<number>((sum, ms) => sum + (ms ?? 0), 0);
    notes.push(
      `not throughput: ${num(rate)} tasks/s × ${num(total, 2)} ms CPU per task (end to end) keeps ` +
        `${num(((rate * total) / (cpus * 1000)) * 100)} % of ${cpus} cores busy, so the tail is waiting, not work`,
    );
  }
  const split = numberAt(o['latency-split']?.data, 'queueP99');
  if (split !== null) notes.push(`with the API and the workers in separate processes: ${num(split, 1)} ms`);
  return notes.length ? notes.join('; ') : null;
}

/** POST p99 at a paced rate: how busy the machine was, and the same load's POST p99 with the roles split. */
export function pacedPostBound(o: Outcomes, scenario: string, cpus: number): string | null {
  const notes: string[] = [];
  const utilisation = queueLatencyBound(o, scenario, cpus)?.split('; ')[0];
  if (utilisation) notes.push(utilisation);
  const split = numberAt(o['latency-split']?.data, 'http', 'latencyMs', 'p99');
  if (split !== null) notes.push(`with the API and the workers in separate processes: ${num(split, 1)} ms`);
  const post = numberAt(o.post?.data, 'cpu_us_per_request', 'total');
  if (post !== null) notes.push(`a request costs ${num(post)} µs of service CPU (accepting it and running its task)`);
  return notes.length ? notes.join('; ') + profileTop(o) : null;
}

/** A closed-loop throughput target: the service's CPU per request caps the rate one core gives. */
export function cpuThroughputBound(o: Outcomes, scenario: string): string | null {
  const d = o[scenario]?.data;
  const cpu = numberAt(d, 'cpu_us_per_request', 'total');
  if (cpu === null || cpu === 0) return null;
  return (
    `${num(cpu)} µs of service CPU per request (both roles in one process: accepting it and running its task) ` +
    `allows at most ${num(1e6 / cpu)} req/s on the one core a Node process uses${profileTop(o)}`
  );
}

/** Batch creation: the e2e loads create their tasks through the batch endpoint, so their profile shows its cost too. */
export function batchBound(o: Outcomes): string | null {
  const requestP50 = numberAt(o.batch?.data, 'latencyMs', 'p50');
  const size = numberAt(o.batch?.data, 'batch_size');
  if (requestP50 === null || size === null) return null;
  return (
    `a ${num(size)}-task request takes ${num(requestP50)} ms (p50) with 2 connections, both roles in one process ` +
    `also running the created tasks${profileTop(o)}`
  );
}

/** Memory: what the process holds before any load, against what the load adds. */
export function rssBound(o: Outcomes): string | null {
  const idle = (at(o.post?.data, 'rss_idle_mb') as { mb: number }[] | undefined)?.[0]?.mb;
  const rss = (at(o.steady?.data, 'rss') as { startMb: number | null; maxMb: number | null }[] | undefined)?.[0];
  if (idle === undefined || !rss?.maxMb) return null;
  const grew = (at(o.steady?.data, 'rss_growth') as { grew: boolean | null }[] | undefined)?.[0]?.grew;
  return (
    `${num(idle)} MB idle after warm-up, ${num(rss.startMb ?? 0)} MB as the steady run starts, ${num(rss.maxMb)} MB at ` +
    `its peak: V8's heap under load (garbage collection ${gcShare(o)}); ` +
    (grew === true
      ? 'and the RSS grew over the run'
      : grew === false
        ? 'the RSS did not grow over the run'
        : 'growth not judged')
  );
}

function gcShare(o: Outcomes): string {
  const profiles = at(o['e2e-profile']?.data ?? o.e2e?.data, 'profiles') as
    { categories?: { category: string; percent: number }[] }[] | undefined;
  const gc = profiles?.[0]?.categories?.find((c) => c.category === 'garbage collection');
  return gc ? `${num(gc.percent, 0)} % of the profiled CPU` : 'not profiled in this run';
}
