import {
  batchBound,
  closedLoopBound,
  cpuThroughputBound,
  endToEndBound,
  httpRatioBound,
  pacedPostBound,
  queueLatencyBound,
  rssBound,
} from './bounds';
import { num } from './format';
import { round } from './stats';

/** A scenario's outcome as the targets read it: its data, or why it has none. */
export type Outcomes = Partial<Record<string, { data?: Record<string, unknown>; error?: string }>>;

export interface TargetResult {
  target: string;
  value: string;
  status: 'met' | 'missed' | 'not measured';
  /** Headroom when met, shortfall when missed, as a share of the target. */
  by: string;
  /** When missed: what holds it back, worked out from this run's figures (bench/lib/bounds.ts). */
  bound?: string;
}

/** Reads a nested number out of scenario data: get(o, 'latencyMs', 'p99'). */
function get(data: Record<string, unknown> | undefined, ...path: (string | number)[]): number | null {
  let cur: unknown = data;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return null;
    cur = (cur as Record<string | number, unknown>)[key];
  }
  return typeof cur === 'number' && Number.isFinite(cur) ? cur : null;
}

interface Target {
  label: string;
  unit: string;
  /** min: value ≥ threshold; below: value < threshold; atMost: value ≤ threshold; flat: 0 means it did not grow. */
  kind: 'min' | 'below' | 'atMost' | 'flat';
  threshold: number;
  value: (o: Outcomes) => number | null;
  /** What bounds the figure, from the run's data; printed when the target is missed. */
  bound?: (o: Outcomes, cpus: number) => string | null;
}

const data = (o: Outcomes, scenario: string) => o[scenario]?.data;
const ratioTo = (o: Outcomes, ceiling: string) => {
  const ours = get(data(o, 'e2e'), 'tasks_per_sec');
  const theirs = get(data(o, ceiling), 'jobs_per_sec');
  return ours === null || theirs === null || theirs === 0 ? null : ours / theirs;
};

/** A scenario's req/s over the bare node:http floor's, in the same run. */
const toFloor = (o: Outcomes, scenario: string) => {
  const ours = get(data(o, scenario), 'reqPerSec');
  const floor = get(data(o, 'floor'), 'reqPerSec');
  return ours === null || floor === null || floor === 0 ? null : ours / floor;
};

/** The last list/stats size, only when it is the 1M rows the targets speak of. */
function atMillion(o: Outcomes, key: string, field: 'p99'): number | null {
  const sizes = data(o, 'list-stats')?.sizes as
    { tasks: number; loads: Record<string, { latencyMs: Record<string, number | null> }> }[] | undefined;
  const last = sizes?.[sizes.length - 1];
  if (!last || last.tasks < 1_000_000) return null;
  return last.loads[key]?.latencyMs[field] ?? null;
}

function growthAtMillion(o: Outcomes, key: string): number | null {
  const d = data(o, 'list-stats');
  const sizes = d?.sizes as { tasks: number }[] | undefined;
  if (!sizes || sizes[sizes.length - 1].tasks < 1_000_000) return null;
  const mean = (d?.growth as Record<string, { mean: (number | null)[] }> | undefined)?.[key]?.mean;
  return mean?.[mean.length - 1] ?? null;
}

/** Issue 5's targets and issue 13's ratios to the floor, each read from the run's data. */
const TARGETS: Target[] = [
  {
    label: 'end to end ≥ 2,500 tasks/s',
    unit: 'tasks/s',
    kind: 'min',
    threshold: 2500,
    value: (o) => get(data(o, 'e2e'), 'tasks_per_sec'),
    bound: endToEndBound,
  },
  {
    label: 'end to end ≥ 2× pg-boss',
    unit: '×',
    kind: 'min',
    threshold: 2,
    value: (o) => ratioTo(o, 'pgboss'),
    bound: endToEndBound,
  },
  {
    label: 'end to end ≥ 2× graphile-worker',
    unit: '×',
    kind: 'min',
    threshold: 2,
    value: (o) => ratioTo(o, 'graphile'),
    bound: endToEndBound,
  },
  {
    label: 'end to end ≥ 0.25× raw BullMQ',
    unit: '×',
    kind: 'min',
    threshold: 0.25,
    value: (o) => ratioTo(o, 'bullmq'),
    bound: endToEndBound,
  },
  {
    label: 'POST ≥ 3,000 req/s',
    unit: 'req/s',
    kind: 'min',
    threshold: 3000,
    value: (o) => get(data(o, 'post'), 'reqPerSec'),
    bound: (o) => cpuThroughputBound(o, 'post'),
  },
  {
    label: 'POST p99 < 25 ms',
    unit: 'ms',
    kind: 'below',
    threshold: 25,
    value: (o) => get(data(o, 'post'), 'latencyMs', 'p99'),
    bound: (o) => closedLoopBound(o, 'post', 25),
  },
  {
    label: 'batch ≥ 20,000 tasks/s',
    unit: 'tasks/s',
    kind: 'min',
    threshold: 20000,
    value: (o) => get(data(o, 'batch'), 'tasks_per_sec'),
    bound: batchBound,
  },
  {
    label: 'queue latency p99 < 20 ms at 200/s',
    unit: 'ms',
    kind: 'below',
    threshold: 20,
    value: (o) => get(data(o, 'latency'), 'queueP99'),
    bound: (o, cpus) => queueLatencyBound(o, 'latency', cpus),
  },
  {
    label: 'steady 200/s × 5 min: POST p99 < 20 ms',
    unit: 'ms',
    kind: 'below',
    threshold: 20,
    value: (o) => get(data(o, 'steady'), 'http', 'latencyMs', 'p99'),
    bound: (o, cpus) => pacedPostBound(o, 'steady', cpus),
  },
  {
    label: 'steady 200/s × 5 min: queue latency p99 < 20 ms',
    unit: 'ms',
    kind: 'below',
    threshold: 20,
    value: (o) => get(data(o, 'steady'), 'queueP99'),
    bound: (o, cpus) => queueLatencyBound(o, 'steady', cpus),
  },
  {
    label: 'GET /health/live ≥ 0.15× bare node:http (interleaved)',
    unit: '×',
    kind: 'min',
    threshold: 0.15,
    value: (o) => get(data(o, 'live'), 'ratio_to_floor_interleaved') ?? toFloor(o, 'live'),
    bound: (o) => httpRatioBound(o, 'live'),
  },
  {
    label: 'GET /tasks/{id} ≥ 0.10× bare node:http',
    unit: '×',
    kind: 'min',
    threshold: 0.1,
    value: (o) => toFloor(o, 'get'),
    bound: (o) => httpRatioBound(o, 'get'),
  },
  {
    label: 'POST /tasks ≥ 0.06× bare node:http',
    unit: '×',
    kind: 'min',
    threshold: 0.06,
    value: (o) => toFloor(o, 'post'),
    bound: (o) => httpRatioBound(o, 'post'),
  },
  {
    label: 'GET p99 < 5 ms',
    unit: 'ms',
    kind: 'below',
    threshold: 5,
    value: (o) => get(data(o, 'get'), 'latencyMs', 'p99'),
    bound: (o) => closedLoopBound(o, 'get', 5),
  },
  {
    label: 'list p99 < 20 ms at 1M (biggest kb)',
    unit: 'ms',
    kind: 'below',
    threshold: 20,
    value: (o) => atMillion(o, 'list_hot', 'p99'),
  },
  {
    label: 'stats p99 < 20 ms at 1M (biggest kb)',
    unit: 'ms',
    kind: 'below',
    threshold: 20,
    value: (o) => atMillion(o, 'stats_hot', 'p99'),
  },
  {
    label: 'list at 1M ≤ 2× its 10k time (mean, biggest kb)',
    unit: '×',
    kind: 'atMost',
    threshold: 2,
    value: (o) => growthAtMillion(o, 'list_hot'),
  },
  {
    label: 'stats at 1M ≤ 2× its 10k time (mean, biggest kb)',
    unit: '×',
    kind: 'atMost',
    threshold: 2,
    value: (o) => growthAtMillion(o, 'stats_hot'),
  },
  {
    label: 'RSS < 300 MB (max of the steady run)',
    unit: 'MB',
    kind: 'below',
    threshold: 300,
    value: (o) => get(data(o, 'steady'), 'rss_max_mb'),
    bound: rssBound,
  },
  {
    // "Flat" as the steady scenario judges it: the median RSS of the last tenth of the run is
    // not more than max(20 MB, 10 %) above that of the first tenth. The value is the growth.
    label: 'RSS flat over the steady run',
    unit: 'MB',
    kind: 'flat',
    threshold: 0,
    value: (o) => {
      const growth = data(o, 'steady')?.rss_growth as
        { firstMb: number | null; lastMb: number | null; grew: boolean | null }[] | undefined;
      const judged = (growth ?? []).filter((g) => g.grew !== null && g.firstMb !== null && g.lastMb !== null);
      if (judged.length === 0) return null;
      const worst = judged.reduce((a, b) => (b.lastMb! - b.firstMb! > a.lastMb! - a.firstMb! ? b : a));
      // The growth in MB when it grew, 0 when flat.
      return worst.grew ? Math.max(worst.lastMb! - worst.firstMb!, 0.1) : 0;
    },
  },
];

function show(value: number, unit: string): string {
  if (unit === '×') return `${num(value, 2)}×`;
  if (unit === 'ms') return `${num(value, value < 10 ? 2 : 1)} ms`;
  return `${num(value)} ${unit}`;
}

export function evaluateTargets(outcomes: Outcomes, cpus: number): TargetResult[] {
  return TARGETS.map((t) => {
    const value = t.value(outcomes);
    if (value === null) return { target: t.label, value: '—', status: 'not measured', by: '' };
    if (t.kind === 'flat') {
      const grew = value > 0;
      return {
        target: t.label,
        value: grew ? `+${show(value, t.unit)}` : 'flat',
        status: grew ? 'missed' : 'met',
        by: grew ? `grew ${show(value, t.unit)}` : 'no growth',
      };
    }
    const met =
      t.kind === 'min' ? value >= t.threshold : t.kind === 'atMost' ? value <= t.threshold : value < t.threshold;
    const by =
      t.kind === 'min'
        ? met
          ? `+${round((value / t.threshold - 1) * 100, 0)} % over`
          : `${round((1 - value / t.threshold) * 100, 0)} % short (needs ${num(t.threshold / Math.max(value, 1e-9), 2)}×)`
        : met
          ? `${round((1 - value / t.threshold) * 100, 0)} % headroom`
          : `${round((value / t.threshold - 1) * 100, 0)} % over (needs ${num(value / t.threshold, 2)}× less)`;
    const bound = met ? null : (t.bound?.(outcomes, cpus) ?? null);
    return {
      target: t.label,
      value: show(value, t.unit),
      status: met ? 'met' : 'missed',
      by,
      ...(bound ? { bound } : {}),
    };
  });
}
