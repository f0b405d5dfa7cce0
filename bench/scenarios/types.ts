import type Redis from 'ioredis';
import type { Pool } from 'pg';
import type { RssMonitor } from '../lib/rss-monitor';
import type { ServiceCluster } from '../lib/service';

export const SCENARIO_NAMES = [
  'bullmq',
  'pgboss',
  'graphile',
  'floor',
  'live',
  'post',
  'batch',
  'get',
  'latency',
  'latency-split',
  'steady',
  'e2e',
  'e2e-workers',
  'e2e-profile',
  'list-stats',
  'fairness',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** Names accepted by --only that stand for several scenarios. */
export const SCENARIO_GROUPS: Record<string, ScenarioName[]> = {
  ceilings: ['bullmq', 'pgboss', 'graphile'],
  api: ['floor', 'live', 'post', 'batch', 'get', 'list-stats'],
  /** The per-request cost: the bare floor and the three routes read as ratios to it. */
  http: ['floor', 'live', 'post', 'get'],
};

/** Every count and duration of a run; `--quick` swaps in tiny ones. */
export interface Sizes {
  postSeconds: number;
  postConnections: number;
  batchSeconds: number;
  batchConnections: number;
  batchSize: number;
  getSeconds: number;
  getConnections: number;
  latencyRate: number;
  latencySeconds: number;
  steadyRate: number;
  steadySeconds: number;
  e2eTasks: number;
  e2eBatchSize: number;
  e2eInFlight: number;
  workerCounts: number[];
  ceilingJobs: number;
  seedSizes: number[];
  readSeconds: number;
  readConnections: number;
  drainTimeoutMs: number;
  serviceStartTimeoutMs: number;
}

export interface BenchOptions {
  quick: boolean;
  only: ScenarioName[] | null;
  url: string | null;
  databaseUrl: string | null;
  pid: number | null;
  steadySeconds: number | null;
  steadyRate: number | null;
  keepSeed: boolean;
  profile: boolean;
  verbose: boolean;
  env: Record<string, string>;
}

export interface BenchContext {
  options: BenchOptions;
  sizes: Sizes;
  runId: string;
  rootDir: string;
  /** Any database URL on the server, to derive the bench databases from. */
  serverUrl: string;
  /** The service's database (ours, or the target's with --url). */
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  /** The service processes we manage; null with --url (someone else runs the service). */
  cluster: ServiceCluster | null;
  apiUrl: string;
  pool: Pool;
  redis: Redis;
  rss: RssMonitor;
  /** Directory for --cpu-prof output when --profile is on. */
  profileDir: string | null;
  /** Databases this run created and must drop (names), and Redis prefixes to clear. */
  createdDatabases: Set<string>;
  redisPrefixes: Set<string>;
  log(message: string): void;
}

/** One line of the printed table. */
export interface ReportRow {
  metric: string;
  value: string;
}

export interface ScenarioOutput {
  rows: ReportRow[];
  /** What goes into BENCH_JSON under the scenario's name (targets are read from here). */
  data: Record<string, unknown>;
  notes?: string[];
}

export interface Scenario {
  name: ScenarioName;
  title: string;
  /** False when it needs processes or databases that --url mode does not let us control. */
  worksWithUrl: boolean;
  /** Runs only when --only names it (it takes minutes, beyond the full run's budget). */
  onlyWhenNamed?: boolean;
  run(ctx: BenchContext): Promise<ScenarioOutput>;
}
