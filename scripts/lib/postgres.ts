import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { MigrationError } from './errors';

export const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/task_manager';

/** Every server has it; databases are created and dropped from a session there. */
const MAINTENANCE_DATABASE = 'postgres';

/** Socket-level failures: the server is not there at all. */
const SOCKET_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
]);

/**
 * SQLSTATE classes that mean "you cannot work with this server/database" rather than a bug:
 * 08 connection exception, 28 invalid authorization, 3D invalid catalog (no such database),
 * 57P operator intervention (e.g. the server is starting up or shutting down).
 */
const CONNECTION_SQLSTATE = /^(08|28|3D|57P)/;

/** `CREATE DATABASE` lost a race with another process creating the same database. */
const DUPLICATE_DATABASE_SQLSTATES = new Set(['42P04', '23505']);

export function databaseName(databaseUrl: string): string {
  const name = decodeURIComponent(parseUrl(databaseUrl).pathname.slice(1));
  if (!name) throw new MigrationError(`DATABASE_URL names no database: ${redact(databaseUrl)}`);
  return name;
}

export function withDatabase(databaseUrl: string, database: string): string {
  const url = parseUrl(databaseUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

export function maintenanceUrl(databaseUrl: string): string {
  return withDatabase(databaseUrl, MAINTENANCE_DATABASE);
}

/** The URL without its password, for messages. */
export function redact(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '<unparseable DATABASE_URL>';
  }
}

function parseUrl(databaseUrl: string): URL {
  try {
    return new URL(databaseUrl);
  } catch {
    throw new MigrationError(`DATABASE_URL is not a valid URL: ${redact(databaseUrl)}`);
  }
}

/** Runs `fn` on a dedicated connection, turning "cannot connect" into a MigrationError. */
export async function withClient<T>(databaseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  // An idle client whose server goes away emits 'error'; unhandled, that would crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await fn(client);
  } catch (error) {
    throw asConnectionError(databaseUrl, error) ?? error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function asConnectionError(databaseUrl: string, error: unknown): MigrationError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (!SOCKET_ERROR_CODES.has(code) && !CONNECTION_SQLSTATE.test(code)) return undefined;
  // Node reports "connection refused" on a dual-stack host as an AggregateError with no message.
  const detail = (error as Error).message || code;
  return new MigrationError(`Cannot use PostgreSQL at ${redact(databaseUrl)}: ${detail}`);
}

export async function databaseExists(databaseUrl: string): Promise<boolean> {
  const name = databaseName(databaseUrl);
  return withClient(maintenanceUrl(databaseUrl), (client) => databaseExistsOn(client, name));
}

async function databaseExistsOn(client: pg.Client, name: string): Promise<boolean> {
  const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return rowCount === 1;
}

/** Returns whether this call created the database. */
export async function createDatabaseIfMissing(databaseUrl: string): Promise<boolean> {
  const name = databaseName(databaseUrl);
  return withClient(maintenanceUrl(databaseUrl), async (client) => {
    if (await databaseExistsOn(client, name)) return false;
    try {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      return true;
    } catch (error) {
      if (DUPLICATE_DATABASE_SQLSTATES.has((error as { code?: string }).code ?? '')) return false;
      throw error;
    }
  });
}

/**
 * Holds a session-level advisory lock on `databaseUrl` while `fn` runs, so concurrent
 * callers (several service instances or test workers starting together) take turns.
 */
export async function withAdvisoryLock<T>(databaseUrl: string, key: number, fn: () => Promise<T>): Promise<T> {
  return withClient(databaseUrl, async (client) => {
    await client.query('SELECT pg_advisory_lock($1)', [key]);
    try {
      return await fn();
    } finally {
      // Closing the session releases the lock anyway; an unlock failure must not hide fn's error.
      await client.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined);
    }
  });
}

export interface TemporaryDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

export async function createTemporaryDatabase(databaseUrl: string, prefix: string): Promise<TemporaryDatabase> {
  const name = `${prefix}_${randomUUID().replaceAll('-', '')}`;
  const identifier = pg.escapeIdentifier(name);
  const maintenance = maintenanceUrl(databaseUrl);
  const run = (sql: string) =>
    withClient(maintenance, async (client) => {
      await client.query(sql);
    });
  await run(`CREATE DATABASE ${identifier}`);
  return {
    url: withDatabase(databaseUrl, name),
    // FORCE (PostgreSQL 13+) ends sessions a caller may have leaked, so the drop cannot hang.
    drop: () => run(`DROP DATABASE IF EXISTS ${identifier} WITH (FORCE)`),
  };
}

/** OID of PostgreSQL's internal one-byte `"char"` type, used by pg_catalog columns. */
const INTERNAL_CHAR_OID = 18;
const TEXT_OID = 25;

type QueryCallback = (error: Error | null, result?: pg.QueryResult | pg.QueryResult[]) => void;

/**
 * Reports `"char"` result columns as text. @prisma/adapter-pg 7.10 rejects `"char"` as an
 * unsupported column type, and the schema engine selects such catalog columns
 * (e.g. pg_constraint.confupdtype) whenever it describes a database, so without this every
 * diff against a live or shadow database fails with "Column type 'char' could not be
 * deserialized". Its text form is the character itself, which is what the engine expects.
 */
class CatalogCharAsTextClient extends pg.Client {
  // pg's overloads cannot be re-declared one by one; pg-pool calls query(config, values, callback)
  // and the adapter awaits query(config), so both the callback and the promise forms are kept.
  /* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-argument -- see above: no overload fits every form */
  override query(...args: any[]): any {
    const callback = typeof args.at(-1) === 'function' ? (args.pop() as QueryCallback) : undefined;
    const run = super.query.bind(this) as (...queryArgs: unknown[]) => unknown;
    if (typeof (args[0] as { submit?: unknown } | undefined)?.submit === 'function') {
      return run(...args, ...(callback ? [callback] : []));
    }
    const result = (run(...args) as Promise<pg.QueryResult | pg.QueryResult[]>).then(reportCharAsText);
    if (!callback) return result;
    result.then(
      (value) => {
        callback(null, value);
      },
      (error: unknown) => {
        callback(error as Error);
      },
    );
  }
  /* eslint-enable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-argument */
}

function reportCharAsText<R extends pg.QueryResult | pg.QueryResult[]>(result: R): R {
  // A multi-statement script yields one result per statement.
  for (const { fields } of [result].flat()) {
    for (const field of fields ?? []) {
      if (field.dataTypeID === INTERNAL_CHAR_OID) field.dataTypeID = TEXT_OID;
    }
  }
  return result;
}

/** A pool the schema engine can describe databases through; see CatalogCharAsTextClient. */
export function createEnginePool(databaseUrl: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, Client: CatalogCharAsTextClient });
  // Idle clients losing their server emit 'error' on the pool; the next query reports it anyway.
  pool.on('error', () => undefined);
  return pool;
}
