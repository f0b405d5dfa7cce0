import { execFile, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where Debian puts PostgreSQL's server binaries; PG_BIN_DIR overrides it. */
export const PG_BIN_DIR = process.env.PG_BIN_DIR ?? '/usr/lib/postgresql/15/bin';

/** initdb and pg_ctl are there: a test may start its own cluster. */
export function postgresBinariesPresent(): boolean {
  return ['initdb', 'pg_ctl', 'postgres'].every((bin) => existsSync(join(PG_BIN_DIR, bin)));
}

/** A PostgreSQL cluster the test owns: free to stop hard and restart, removed at the end. */
export interface OwnedPostgres {
  port: number;
  /** A URL for `database` on this cluster (created by applyPendingMigrations if missing). */
  url(database: string): string;
  /** `pg_ctl stop -m immediate`: every backend dies at once, as in a crash or a lost host. */
  crash(): Promise<void>;
  start(): Promise<void>;
  /** Stops the cluster (if running) and deletes its files; safe to call twice. */
  destroy(): void;
}

/**
 * initdb refuses to run as root, so as root the cluster belongs to the `postgres` user
 * (its folder chowned to it) and every binary runs through `runuser`.
 */
function asOwner(): { uid: number; gid: number; wrap(bin: string, args: string[]): [string, string[]] } | null {
  if (process.getuid?.() !== 0) return null;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid, wrap: (bin, args) => ['runuser', ['-u', 'postgres', '--', bin, ...args]] };
}

/** The first port from `from` up to `to` that nothing listens on. */
export async function freePortIn(from: number, to: number): Promise<number> {
  for (let port = from; port <= to; port++) {
    const server = createServer();
    server.listen(port, '127.0.0.1');
    const ok = await Promise.race([
      once(server, 'listening').then(() => true),
      once(server, 'error').then(() => false),
    ]);
    if (ok) {
      server.close();
      await once(server, 'close');
      return port;
    }
  }
  throw new Error(`No free port in ${from}-${to}`);
}

/**
 * A fresh PostgreSQL cluster from the machine's binaries on `port`, in a temporary folder,
 * trusting local connections as `postgres`. fsync is off: the faults these tests make kill
 * the server, not the host, so the operating system still holds everything written.
 */
export async function startPostgres(port: number): Promise<OwnedPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'tm-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const owner = asOwner();
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const pg = (bin: string, args: string[]) => {
    const [file, argv] = owner ? owner.wrap(join(PG_BIN_DIR, bin), args) : [join(PG_BIN_DIR, bin), args];
    return run(file, argv, { timeout: 60000 });
  };
  const serverOptions = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c max_connections=100`;
  const cluster: OwnedPostgres = {
    port,
    url: (database) => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    async crash() {
      await pg('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
    },
    async start() {
      try {
        await pg('pg_ctl', ['-D', data, '-l', log, '-o', serverOptions, '-w', '-t', '60', 'start']);
      } catch (error) {
        const tail = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '(no server log)';
        throw new Error(`pg_ctl start failed: ${(error as Error).message}\n${tail}`);
      }
    },
    destroy() {
      process.removeListener('exit', onExit);
      // postmaster.pid exists while a server runs, even one whose start was reported failed.
      if (existsSync(join(data, 'postmaster.pid'))) {
        const stopArgs = ['-D', data, '-m', 'immediate', 'stop'];
        const [file, argv] = owner
          ? owner.wrap(join(PG_BIN_DIR, 'pg_ctl'), stopArgs)
          : [join(PG_BIN_DIR, 'pg_ctl'), stopArgs];
        try {
          execFileSync(file, argv, { stdio: 'ignore', timeout: 30000 });
        } catch {
          // Stopped in the meantime: nothing to do.
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // A postmaster outlives the test process unless stopped: even a crashed run must stop it.
  const onExit = () => {
    cluster.destroy();
  };
  process.on('exit', onExit);
  try {
    await pg('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
    await cluster.start();
  } catch (error) {
    cluster.destroy();
    throw error;
  }
  return cluster;
}
