import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Server, Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { taskRequest } from '../factories/task.factory';
import { waitFor } from './helpers';
import { applyTestEnv } from './test-env';

const ROOT = join(__dirname, '..', '..');

/** A port nothing listens on right now: the OS picks one and we release it. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** A process the test owns; killed when the test is done with it. */
export interface OwnedProcess {
  child: ChildProcess;
  output: string[];
  /** Sends a signal and waits for the exit: its code, or the signal that ended it. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function own(child: ChildProcess): OwnedProcess {
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return {
    child,
    output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A throwaway redis-server on a spare port: free to flush, stop and restart. */
export async function startRedis(port?: number): Promise<OwnedProcess & { port: number; url: string }> {
  const p = port ?? (await freePort());
  const child = spawn(
    'redis-server',
    ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'pipe' },
  );
  const owned = own(child);
  const probe = new Redis({
    port: p,
    host: '127.0.0.1',
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
  await waitFor(
    async () => {
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } catch {
        probe.disconnect();
        return false;
      }
    },
    Boolean,
    { timeoutMs: 10000, what: `redis-server on ${p}` },
  );
  probe.disconnect();
  return { ...owned, port: p, url: `redis://127.0.0.1:${p}` };
}

/**
 * A local Redis Cluster of `size` masters (no replicas) on spare ports, each node with its
 * own config file in a temporary folder, created with `redis-cli --cluster create`.
 */
export async function startRedisCluster(
  size = 3,
): Promise<{ nodes: OwnedProcess[]; ports: number[]; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'tm-cluster-'));
  const ports: number[] = [];
  while (ports.length < size) {
    const port = await freePort();
    // A cluster node also listens on port + 10000 (its bus port).
    if (port < 55000 && !ports.includes(port)) ports.push(port);
  }
  const nodes = ports.map((port) =>
    own(
      spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--dir',
          dir,
        ],
        { stdio: 'pipe' },
      ),
    ),
  );
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      await waitFor(() => redisAnswers(port), Boolean, { timeoutMs: 10000, what: `cluster node ${port}` });
    }
    const create = spawn(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      { stdio: 'pipe' },
    );
    const [code] = await once(create, 'exit');
    if (code !== 0) throw new Error(`redis-cli --cluster create exited with ${code}`);
    const probe = new Redis(ports[0], '127.0.0.1');
    await waitFor(async () => (await probe.cluster('INFO')).includes('cluster_state:ok'), Boolean, {
      timeoutMs: 20000,
      what: 'cluster_state:ok',
    });
    probe.disconnect();
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, ports, stop };
}

async function redisAnswers(port: number): Promise<boolean> {
  const probe = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

export interface ServiceProcess extends OwnedProcess {
  port: number;
  url: string;
}

/**
 * `total` health_check tasks for `kbId` (light ones unless `payload` says otherwise), created over HTTP in batches of `batchSize`
 * that alternate between the given API processes (as a load balancer would spread them).
 * Each batch must be accepted whole (201).
 */
export async function createThroughApis(
  apis: ServiceProcess[],
  kbId: string,
  total: number,
  batchSize: number,
  payload: Record<string, unknown> = { checks: ['database'] },
): Promise<void> {
  for (let i = 0; i < total / batchSize; i++) {
    const body = Array.from({ length: batchSize }, () => taskRequest({ kb_id: kbId, payload }));
    const res = await fetch(`${apis[i % apis.length].url}/api/v1/tasks/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (res.status !== 201) throw new Error(`batch ${i} answered ${res.status}: ${await res.text()}`);
  }
}

/**
 * The real service in its own process (`APP_ROLE` api, worker or both), as production runs
 * it, for tests that kill, signal or cut one process while others keep going.
 */
export async function startService(
  role: 'api' | 'worker' | 'both',
  env: Record<string, string>,
): Promise<ServiceProcess> {
  applyTestEnv();
  const port = role === 'worker' ? 0 : await freePort();
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'log', ...env, APP_ROLE: role, ...(port ? { PORT: String(port) } : {}) },
    stdio: 'pipe',
  });
  const owned = own(child);
  const ready = role === 'worker' ? /Workers started/ : /listening on/;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}:\n${owned.output.join('')}`);
      return ready.test(owned.output.join(''));
    },
    Boolean,
    { timeoutMs: 30000, intervalMs: 100, what: `${role} process to start` },
  );
  return { ...owned, port, url: `http://127.0.0.1:${port}` };
}

/**
 * A TCP proxy in front of PostgreSQL (or anything): `cut()` drops every connection and
 * refuses new ones, as a network partition would; `restore()` lets traffic through again.
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(port = 0): Promise<number> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  /** Idempotent: restoring a proxy that already forwards keeps its server (a second one would fail on the port and leak the first). */
  async restore(): Promise<void> {
    if (this.server) return;
    await this.start(this.port);
  }
}

/**
 * Applies the migrations to `databaseUrl` in a child process, as `npm run db:migrate` does.
 * A test file must not load the WASM schema engine itself: its native `import()` (a
 * `new Function` in scripts/lib/schema-engine.ts) is routed by Node to the jest vm context
 * that first compiled one, so a later test file's import lands in a torn-down environment
 * (seen in CI: the PostgreSQL-outage file broke the pgvector file after it).
 */
export async function migrateInChildProcess(databaseUrl: string): Promise<void> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'scripts/migrate.ts', 'deploy'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: 'pipe',
  });
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  if (code !== 0) throw new Error(`migrate.ts deploy exited ${code ?? signal}:\n${output.join('')}`);
}
