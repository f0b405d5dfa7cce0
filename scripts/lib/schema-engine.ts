import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  bindMigrationAwareSqlAdapterFactory,
  type ConnectionInfo,
  type IsolationLevel,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
  type SqlQuery,
  type SqlResultSet,
  type Transaction,
} from '@prisma/driver-adapter-utils';
import type {
  DiagnoseMigrationHistoryOutput,
  MigrationList,
  SchemaEngine,
  SchemaFilter,
} from '@prisma/schema-engine-wasm/schema_engine_bg';
import { MigrationError } from './errors';
import { createEnginePool, createTemporaryDatabase, type TemporaryDatabase } from './postgres';

type WasmBindings = typeof import('@prisma/schema-engine-wasm/schema_engine_bg');

export interface SchemaFile {
  path: string;
  content: string;
}

/** tsconfig's lib (ES2023, no DOM) lacks WebAssembly's types; this is the part used here. */
declare const WebAssembly: {
  instantiate(
    bytes: Uint8Array,
    imports: Record<string, object>,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
};

/** Nothing in this database is managed outside the migrations. */
const NO_EXTERNAL_ENTITIES: SchemaFilter = { externalTables: [], externalEnums: [] };

/** `diff` reports this exit code (with `exitCode: true`) when the two sides differ. */
const DIFF_HAS_CHANGES = 2;

/**
 * A native `import()`: tsc and swc compile `import()` to `require()` under CommonJS, and
 * `require()` cannot load the engine's ES-module glue on every Node version we support.
 */
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- the native import() described above
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

let bindings: Promise<WasmBindings> | undefined;

/**
 * The package entry imports its .wasm file as an ES module, which Node cannot do, so the
 * glue module and the WebAssembly instance are wired together by hand, once per process.
 */
function loadBindings(): Promise<WasmBindings> {
  return (bindings ??= instantiateBindings());
}

async function instantiateBindings(): Promise<WasmBindings> {
  const packageDir = path.dirname(require.resolve('@prisma/schema-engine-wasm'));
  const glue = (await importEsm(pathToFileURL(path.join(packageDir, 'schema_engine_bg.js')).href).catch(
    explainSandbox,
  )) as WasmBindings;
  const wasm = await readFile(path.join(packageDir, 'schema_engine_bg.wasm'));
  const { instance } = await WebAssembly.instantiate(wasm, { './schema_engine_bg.js': withUnrefTimers(glue) });
  glue.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  return glue;
}

/** Jest runs test files in a vm context, where native import() is unavailable. */
function explainSandbox(error: unknown): never {
  if ((error as { code?: string } | null)?.code?.startsWith('ERR_VM_DYNAMIC_IMPORT')) {
    throw new MigrationError(
      'The schema engine cannot be loaded inside a jest test file (no native import() in its vm); ' +
        'call it from globalSetup, or run scripts/migrate.ts as a child process.',
    );
  }
  throw error;
}

/**
 * The glue arms a timer for each timeout the engine races an operation against and, having no
 * clearTimeout, never disarms it: every one would hold the process (a CLI run, a jest global
 * setup) open for 10 s after the work is done. So they are unref'd, and withSchemaEngine keeps
 * the process alive while an engine is actually in use.
 */
function withUnrefTimers(glue: WasmBindings): Record<string, unknown> {
  const imports: Record<string, unknown> = { ...glue };
  for (const name of Object.keys(imports).filter((key) => key.startsWith('__wbg_setTimeout_'))) {
    const armTimer = imports[name] as (...args: unknown[]) => NodeJS.Timeout;
    imports[name] = (...args: unknown[]) => armTimer(...args).unref();
  }
  return imports;
}

/**
 * Opens a schema engine on `databaseUrl`, runs `fn`, then releases every connection and
 * drops any shadow database the engine asked for. Engine failures become MigrationErrors.
 */
export async function withSchemaEngine<T>(
  databaseUrl: string,
  schema: SchemaFile,
  fn: (engine: MigrationEngine) => Promise<T>,
): Promise<T> {
  const connections = new EngineConnections(databaseUrl);
  const keepAlive = setInterval(() => undefined, 60_000);
  try {
    const { SchemaEngine } = await loadBindings();
    const engine = await engineCall(() =>
      SchemaEngine.new(
        { datamodels: [[schema.path, schema.content]] },
        forwardEngineWarnings,
        bindMigrationAwareSqlAdapterFactory(connections),
      ),
    );
    try {
      return await fn(new MigrationEngine(engine));
    } finally {
      engine.free();
    }
  } finally {
    await connections.close();
    clearInterval(keepAlive);
  }
}

/** The engine calls used here, with the arguments this project always passes. */
export class MigrationEngine {
  constructor(private readonly engine: SchemaEngine) {}

  /** Applies what `_prisma_migrations` lacks, as `prisma migrate deploy`; returns the names. */
  async applyMigrations(migrationsList: MigrationList): Promise<string[]> {
    const { appliedMigrationNames } = await engineCall(() =>
      this.engine.applyMigrations({ migrationsList, filters: NO_EXTERNAL_ENTITIES }),
    );
    return appliedMigrationNames;
  }

  diagnoseMigrationHistory(migrationsList: MigrationList): Promise<DiagnoseMigrationHistoryOutput> {
    return engineCall(() =>
      this.engine.diagnoseMigrationHistory({
        migrationsList,
        optInToShadowDatabase: false,
        filters: NO_EXTERNAL_ENTITIES,
      }),
    );
  }

  /**
   * What it takes to go from the state the migrations build (replayed on a shadow database)
   * to `schema`: an SQL script or a human-readable summary; null when there is nothing.
   */
  async diffMigrationsToSchema(
    migrationsList: MigrationList,
    schema: SchemaFile,
    format: 'script' | 'summary',
  ): Promise<string | null> {
    const { exitCode, stdout } = await engineCall(() =>
      this.engine.diff({
        from: { tag: 'migrations', ...migrationsList },
        to: { tag: 'schemaDatamodel', files: [schema] },
        script: format === 'script',
        // Without it an empty diff is still a non-empty script ("-- This is an empty migration.").
        exitCode: true,
        filters: NO_EXTERNAL_ENTITIES,
      }),
    );
    return exitCode === DIFF_HAS_CHANGES ? (stdout ?? '') : null;
  }
}

async function engineCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new MigrationError(engineMessage(error));
  }
}

/**
 * The message without its span trace ("   0: schema_engine_wasm::…"), which only points into
 * the engine's Rust source, except for the one useful thing in it: which migration failed.
 */
function engineMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message.split('\n');
  const traceStart = lines.findIndex((line) => /^\s*\d+: \S+::/.test(line));
  const summary = lines
    .slice(0, traceStart === -1 ? undefined : traceStart)
    .join('\n')
    .trim();
  const code = (error as { code?: unknown } | null)?.code;
  const migration = /migration_name="([^"]+)"/.exec(message)?.[1];
  return [
    typeof code === 'string' ? `${code}: ` : '',
    migration && !summary.includes(migration) ? `Migration ${migration} failed: ` : '',
    summary,
  ].join('');
}

/** The engine logs JSON lines; its INFO chatter is noise, warnings are worth seeing. */
function forwardEngineWarnings(line: unknown): void {
  if (typeof line === 'string' && /"level":"(WARN|ERROR)"/.test(line)) {
    console.error(`schema engine: ${line.trim()}`);
  }
}

/** Connections handed to the engine: the main database, plus shadow databases on demand. */
class EngineConnections implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres';
  readonly adapterName = '@prisma/adapter-pg';
  private readonly adapters: EngineAdapter[] = [];
  private readonly shadowDatabases: TemporaryDatabase[] = [];

  constructor(private readonly databaseUrl: string) {}

  connect(): Promise<SqlDriverAdapter> {
    return this.open(this.databaseUrl);
  }

  /**
   * Not PrismaPg's own connectToShadowDb: given a connection string, it creates a shadow
   * database but then connects to the main one (pg lets the URL override `database`),
   * so the engine would replay, and reset, the migrations on the real database.
   */
  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const shadow = await createTemporaryDatabase(this.databaseUrl, 'prisma_migrate_shadow_db');
    this.shadowDatabases.push(shadow);
    return this.open(shadow.url);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.adapters.map((adapter) => adapter.dispose()));
    await Promise.all(this.shadowDatabases.map((database) => database.drop()));
  }

  private async open(databaseUrl: string): Promise<SqlDriverAdapter> {
    const factory = new PrismaPg(createEnginePool(databaseUrl), { disposeExternalPool: true });
    const adapter = new EngineAdapter(await factory.connect());
    this.adapters.push(adapter);
    return adapter;
  }
}

/** PrismaPg's adapter with a whole-script executeScript and a dispose that is safe to repeat. */
class EngineAdapter implements SqlDriverAdapter {
  readonly provider: SqlDriverAdapter['provider'];
  readonly adapterName: string;
  private disposal: Promise<void> | undefined;

  constructor(private readonly inner: SqlDriverAdapter) {
    this.provider = inner.provider;
    this.adapterName = inner.adapterName;
  }

  queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    return this.inner.queryRaw(query);
  }

  executeRaw(query: SqlQuery): Promise<number> {
    return this.inner.executeRaw(query);
  }

  startTransaction(isolationLevel?: IsolationLevel): Promise<Transaction> {
    return this.inner.startTransaction(isolationLevel);
  }

  getConnectionInfo(): ConnectionInfo {
    return this.inner.getConnectionInfo?.() ?? { supportsRelationJoins: false };
  }

  /**
   * The engine runs each migration.sql through here. adapter-pg splits the script on every
   * ";", breaking string literals and DO/function bodies that contain one. Sent whole as a
   * parameterless (simple-protocol) query instead, PostgreSQL runs it in one implicit
   * transaction, as Prisma's native engine does: a failing migration leaves nothing behind.
   */
  async executeScript(script: string): Promise<void> {
    await this.inner.executeRaw({ sql: script, args: [], argTypes: [] });
  }

  /** Both the engine and EngineConnections.close dispose; ending a pg pool twice throws. */
  dispose(): Promise<void> {
    return (this.disposal ??= this.inner.dispose());
  }
}
