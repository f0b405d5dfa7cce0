import { Client, Pool } from 'pg';
import { runToCompletion } from './processes';

export const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/task_manager';

/** The same server as `base`, another database. */
export function databaseUrl(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Name of the database a URL points at. */
export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Runs `work` with a connection to the server's maintenance database (to create and drop others). */
async function withAdmin<T>(base: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: databaseUrl(base, 'postgres'), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function databaseExists(base: string, database: string): Promise<boolean> {
  return withAdmin(
    base,
    async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount === 1,
  );
}

/** Drops the database, disconnecting whoever is still in it (a service we killed may linger a moment). */
export async function dropDatabase(base: string, database: string): Promise<void> {
  await withAdmin(base, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`));
}

/** A fresh, empty database: whatever a crashed earlier run left under this name goes first. */
export async function recreateDatabase(base: string, database: string): Promise<void> {
  await withAdmin(base, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${quoteIdent(database)}`);
  });
}

export async function databaseComment(base: string, database: string): Promise<string | null> {
  return withAdmin(base, async (c) => {
    const { rows } = await c.query<{ comment: string | null }>(
      'SELECT shobj_description(oid, $2) AS comment FROM pg_database WHERE datname = $1',
      [database, 'pg_database'],
    );
    return rows[0]?.comment ?? null;
  });
}

export async function setDatabaseComment(base: string, database: string, comment: string): Promise<void> {
  await withAdmin(base, (c) => c.query(`COMMENT ON DATABASE ${quoteIdent(database)} IS ${escapeLiteral(comment)}`));
}

function escapeLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Applies the project's migrations exactly as `npm run db:migrate` does (the script creates
 * the database when it is missing), so the bench schema is the one the service expects.
 */
export async function migrate(rootDir: string, url: string, timeoutMs: number): Promise<void> {
  await runToCompletion({
    name: `migrate ${databaseName(url)}`,
    command: process.execPath,
    args: ['-r', '@swc-node/register', 'scripts/migrate.ts', 'deploy'],
    cwd: rootDir,
    env: { ...process.env, DATABASE_URL: url },
    timeoutMs,
  });
}

/** A small pool for the harness's own queries (polling counts, seeding, percentiles). */
export function harnessPool(url: string): Pool {
  const pool = new Pool({
    connectionString: url,
    max: 4,
    connectionTimeoutMillis: 5000,
    application_name: 'task-manager-bench',
  });
  // An idle connection ended by the server (a seed database dropped WITH (FORCE) while this
  // pool still held one) is only dropped from the pool; unhandled, it ended a full run once.
  pool.on('error', (error) => {
    process.stderr.write(`[bench] an idle harness connection ended: ${error.message}\n`);
  });
  return pool;
}

export async function serverVersion(url: string): Promise<string> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query<{ server_version: string }>('SHOW server_version')).rows[0].server_version;
  } finally {
    await client.end();
  }
}

/** Per-database activity counters (committed transactions, rows written/read) from pg_stat_database. */
export interface DbActivity {
  xactCommit: number;
  tupInserted: number;
  tupUpdated: number;
  tupFetched: number;
  tupReturned: number;
}

export async function dbActivity(pool: Pool): Promise<DbActivity> {
  // pg_stat_* is flushed by backends at most once a second: callers wait a moment before the last read.
  const { rows } = await pool.query<Record<string, string>>(
    `SELECT xact_commit, tup_inserted, tup_updated, tup_fetched, tup_returned
       FROM pg_stat_database WHERE datname = current_database()`,
  );
  const r = rows[0];
  return {
    xactCommit: Number(r.xact_commit),
    tupInserted: Number(r.tup_inserted),
    tupUpdated: Number(r.tup_updated),
    tupFetched: Number(r.tup_fetched),
    tupReturned: Number(r.tup_returned),
  };
}
