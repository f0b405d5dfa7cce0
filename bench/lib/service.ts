import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess } from './processes';
import { DeadlineError, nowMs, sleep } from './time';

/**
 * How the service runs for a scenario: one process doing both roles (what `npm start`
 * runs), the API alone, or the API plus N worker processes (APP_ROLE=api + APP_ROLE=worker).
 */
export type Topology = { kind: 'both' } | { kind: 'api' } | { kind: 'split'; workers: number };

export type Role = 'both' | 'api' | 'worker';

export function describeTopology(t: Topology): string {
  if (t.kind === 'split') return `api + ${t.workers} worker${t.workers === 1 ? '' : 's'}`;
  return t.kind === 'both' ? 'one process (APP_ROLE=both)' : 'api only (APP_ROLE=api)';
}

export interface ServiceEntry {
  args: string[];
  label: string;
  reason: string;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The compiled build when it is at least as new as every file under src/ (what production
 * runs); otherwise the sources through swc, so a bench never measures stale code.
 */
export function chooseEntry(rootDir: string): ServiceEntry {
  const dist = join(rootDir, 'dist', 'main.js');
  const source = { args: ['-r', '@swc-node/register', 'src/main.ts'], label: 'src/main.ts via @swc-node/register' };
  if (!existsSync(dist)) return { ...source, reason: 'dist/main.js does not exist' };
  const distTime = statSync(dist).mtimeMs;
  const srcTime = newestMtime(join(rootDir, 'src'));
  if (srcTime > distTime) return { ...source, reason: 'src/ changed after the last build (dist is stale)' };
  return { args: ['dist/main.js'], label: 'dist/main.js', reason: 'dist is newer than every file in src/' };
}

/**
 * Lets a profiled child exit normally, so V8 writes its --cpu-prof file. Nest's shutdown hook
 * handles SIGTERM, closes the app, then re-sends SIGTERM to itself with its own listener gone;
 * a process killed by a signal writes no profile. This listener ignores the first SIGTERM
 * (Nest is still listening) and turns the re-sent one into process.exit(0).
 */
const EXIT_NORMALLY_ON_SIGTERM =
  'data:text/javascript,process.on("SIGTERM",()=>{if(process.listenerCount("SIGTERM")===1)process.exit(0)})';

export interface ServiceSettings {
  rootDir: string;
  entry: ServiceEntry;
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  port: number;
  /** Extra or overriding variables (--env KEY=VALUE). */
  extraEnv: Record<string, string>;
  verbose: boolean;
  startTimeoutMs: number;
}

interface Member {
  role: Role;
  process: ManagedProcess;
}

/** The service's processes for one topology: started, checked ready, stopped. */
export class ServiceCluster {
  private members: Member[] = [];
  topology: Topology | null = null;
  private signature: string | null = null;
  /** When set, children run under --cpu-prof and write into this directory. */
  profileDir: string | null = null;

  constructor(private settings: ServiceSettings) {}

  get url(): string {
    return `http://127.0.0.1:${this.settings.port}`;
  }

  get databaseUrl(): string {
    return this.settings.databaseUrl;
  }

  /** Points later starts at another database (the list/stats seeds). */
  useDatabase(url: string): void {
    this.settings = { ...this.settings, databaseUrl: url };
  }

  /**
   * What the service printed since the last call (LOG_LEVEL=warn: warnings and errors), for
   * the report — e.g. why a request answered 503.
   */
  takeLogs(): { count: number; lines: string[] } {
    const taken = this.members.map((m) => m.process.takeNewOutput());
    return { count: taken.reduce((sum, t) => sum + t.count, 0), lines: taken.flatMap((t) => t.lines) };
  }

  pids(): { role: Role; pid: number }[] {
    return this.members.filter((m) => m.process.running).map((m) => ({ role: m.role, pid: m.process.pid }));
  }

  /**
   * (Re)starts the service in `topology`; a no-op when it already runs that way (same
   * database, profiling and extra variables) and every process is alive. Returns whether
   * it (re)started processes, i.e. whether they are cold.
   */
  async ensure(
    topology: Topology,
    options: { profileDir?: string | null; env?: Record<string, string> } = {},
  ): Promise<boolean> {
    const signature = JSON.stringify({
      topology,
      db: this.settings.databaseUrl,
      profile: options.profileDir ?? null,
      env: options.env ?? {},
    });
    if (signature === this.signature && this.members.every((m) => m.process.running)) return false;
    await this.stop();
    this.profileDir = options.profileDir ?? null;
    const roles: Role[] =
      topology.kind === 'split'
        ? ['api', ...Array.from({ length: topology.workers }, (): Role => 'worker')]
        : [topology.kind];
    this.members = roles.map((role, i) => ({ role, process: this.spawn(role, i, options.env ?? {}) }));
    this.topology = topology;
    this.signature = signature;
    try {
      await this.waitReady(topology);
      return true;
    } catch (error) {
      const tails = this.members.map((m) => `--- ${m.process.name} (last lines)\n${m.process.tail()}`).join('\n');
      await this.stop();
      throw new Error(`${(error as Error).message}\n${tails}`);
    }
  }

  async stop(): Promise<void> {
    // Workers first: they hand running tasks back before the API (and its reconciler) go.
    const workers = this.members.filter((m) => m.role === 'worker');
    const others = this.members.filter((m) => m.role !== 'worker');
    await Promise.all(workers.map((m) => m.process.stop('SIGTERM', 15_000)));
    await Promise.all(others.map((m) => m.process.stop('SIGTERM', 15_000)));
    this.members = [];
    this.topology = null;
    this.signature = null;
  }

  private spawn(role: Role, index: number, env: Record<string, string>): ManagedProcess {
    const profiling = this.profileDir
      ? ['--cpu-prof', `--cpu-prof-dir=${this.profileDir}`, `--import=${EXIT_NORMALLY_ON_SIGTERM}`]
      : [];
    return new ManagedProcess({
      name: role === 'worker' ? `worker-${index}` : role,
      command: process.execPath,
      args: [...profiling, ...this.settings.entry.args],
      cwd: this.settings.rootDir,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        // Shutdown between scenarios should not wait the production 30 s for nothing.
        WORKER_SHUTDOWN_GRACE_MS: '5000',
        // One client on one IP is the whole load here: the per-caller rate limit would
        // measure itself (429s), not the service.
        RATE_LIMIT_PER_MINUTE: '0',
        ...this.settings.extraEnv,
        ...env,
        // Last, so --env cannot point the service at another database, queue prefix or port
        // than the ones the harness measures and cleans up, nor change the topology.
        APP_ROLE: role,
        DATABASE_URL: this.settings.databaseUrl,
        REDIS_URL: this.settings.redisUrl,
        QUEUE_PREFIX: this.settings.queuePrefix,
        PORT: String(this.settings.port),
        HOST: '127.0.0.1',
      },
      echo: this.settings.verbose,
    });
  }

  /** Ready = the API answers /health/ready and every expected worker process heartbeats. */
  private async waitReady(topology: Topology): Promise<void> {
    const expectedWorkers = topology.kind === 'split' ? topology.workers : topology.kind === 'both' ? 1 : 0;
    const deadline = nowMs() + this.settings.startTimeoutMs;
    let last = 'no answer yet';
    while (nowMs() < deadline) {
      const dead = this.members.find((m) => !m.process.running);
      if (dead) throw new Error(`${dead.process.name} exited with ${dead.process.exitCode} during start-up`);
      try {
        const ready = await fetch(`${this.url}/health/ready`, { signal: AbortSignal.timeout(2000) });
        if (ready.ok) {
          if (expectedWorkers === 0) return;
          const system = await fetch(`${this.url}/api/v1/stats/system`, { signal: AbortSignal.timeout(2000) });
          const body = (await system.json()) as { total_workers?: number };
          if ((body.total_workers ?? 0) >= expectedWorkers) return;
          last = `${body.total_workers ?? 0} of ${expectedWorkers} worker(s) heartbeating`;
        } else {
          last = `/health/ready answered ${ready.status}`;
        }
      } catch (error) {
        last = (error as Error).message;
      }
      await sleep(250);
    }
    throw new DeadlineError(
      `service (${describeTopology(topology)}) not ready within ${this.settings.startTimeoutMs / 1000} s: ${last}`,
    );
  }
}
