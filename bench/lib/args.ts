import { parseArgs } from 'node:util';
import { BenchOptions, SCENARIO_GROUPS, SCENARIO_NAMES, ScenarioName, Sizes } from '../scenarios/types';

export const USAGE = `npm run bench -- [options]

  --quick                 a few seconds, tiny counts, no targets (what CI runs)
  --only <name,...>       run only these scenarios: ${SCENARIO_NAMES.join(', ')}
                          (groups: ${Object.keys(SCENARIO_GROUPS).join(', ')})
  --steady-seconds <n>    length of the steady RSS run (default 300)
  --steady-rate <n>       tasks/s of the steady and latency runs (default 200)
  --keep-seed             keep the 1M-task seed database for the next run (reused when present)
  --profile               run the end-to-end scenarios under node --cpu-prof (bench/profiles/)
                          and summarise where the service's CPU time went
  --env KEY=VALUE         extra environment for the service processes (repeatable)
  --url <http://host:port> measure a service that is already running instead of starting one
  --database-url <url>    with --url: that service's database (default: $DATABASE_URL)
  --pid <pid>             with --url: the service's pid, to sample its RSS
  --verbose               echo the service's own output
  --help`;

function positiveInt(name: string, value: string | undefined): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${value}"`);
  return n;
}

/** Parses the command line; throws with a message naming the bad flag. Returns null for --help. */
export function parseOptions(argv: string[]): BenchOptions | null {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      url: { type: 'string' },
      'database-url': { type: 'string' },
      pid: { type: 'string' },
      'steady-seconds': { type: 'string' },
      'steady-rate': { type: 'string' },
      'keep-seed': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      env: { type: 'string', multiple: true },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return null;
  let only: ScenarioName[] | null = null;
  if (values.only) {
    only = [];
    for (const name of values.only
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      if (SCENARIO_GROUPS[name]) only.push(...SCENARIO_GROUPS[name]);
      else if ((SCENARIO_NAMES as readonly string[]).includes(name)) only.push(name as ScenarioName);
      else
        throw new Error(
          `unknown scenario "${name}"; known: ${SCENARIO_NAMES.join(', ')} (groups: ${Object.keys(SCENARIO_GROUPS).join(', ')})`,
        );
    }
  }
  const env: Record<string, string> = {};
  for (const pair of values.env ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--env expects KEY=VALUE, got "${pair}"`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (values.url && !/^https?:\/\//.test(values.url))
    throw new Error(`--url must be an http(s) URL, got "${values.url}"`);
  return {
    quick: values.quick ?? false,
    only,
    url: values.url ? values.url.replace(/\/+$/, '') : null,
    databaseUrl: values['database-url'] ?? null,
    pid: positiveInt('--pid', values.pid),
    steadySeconds: positiveInt('--steady-seconds', values['steady-seconds']),
    steadyRate: positiveInt('--steady-rate', values['steady-rate']),
    keepSeed: values['keep-seed'] ?? false,
    profile: values.profile ?? false,
    verbose: values.verbose ?? false,
    env,
  };
}

/** Full-run sizes are issue 5's; --quick shrinks everything to check the harness works. */
export function sizesFor(options: BenchOptions): Sizes {
  const full: Sizes = {
    postSeconds: 10,
    postConnections: 50,
    batchSeconds: 10,
    batchConnections: 2,
    batchSize: 500,
    getSeconds: 10,
    getConnections: 10,
    latencyRate: 200,
    latencySeconds: 10,
    steadyRate: 200,
    steadySeconds: 300,
    e2eTasks: 20_000,
    e2eBatchSize: 500,
    e2eInFlight: 2,
    workerCounts: [1, 2],
    ceilingJobs: 20_000,
    seedSizes: [10_000, 100_000, 1_000_000],
    readSeconds: 5,
    readConnections: 4,
    drainTimeoutMs: 600_000,
    serviceStartTimeoutMs: 90_000,
  };
  const quick: Sizes = {
    ...full,
    postSeconds: 1,
    batchSeconds: 1,
    batchConnections: 1,
    batchSize: 50,
    getSeconds: 1,
    latencyRate: 50,
    latencySeconds: 1,
    steadyRate: 50,
    steadySeconds: 2,
    e2eTasks: 300,
    e2eBatchSize: 100,
    workerCounts: [1],
    ceilingJobs: 300,
    seedSizes: [1_000, 3_000],
    readSeconds: 1,
    drainTimeoutMs: 60_000,
  };
  const sizes = options.quick ? quick : full;
  return {
    ...sizes,
    steadySeconds: options.steadySeconds ?? sizes.steadySeconds,
    steadyRate: options.steadyRate ?? sizes.steadyRate,
    latencyRate: options.steadyRate ?? sizes.latencyRate,
  };
}
