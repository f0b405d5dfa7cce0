/**
 * Database migrations without Prisma's native schema-engine binary (it cannot be downloaded
 * here): the same engine, compiled to WebAssembly, driven through @prisma/adapter-pg.
 *
 *   node -r @swc-node/register scripts/migrate.ts deploy            apply pending migrations
 *   node -r @swc-node/register scripts/migrate.ts status            exit 1 unless up to date
 *   node -r @swc-node/register scripts/migrate.ts diff <name>       write a new migration
 *   node -r @swc-node/register scripts/migrate.ts diff --print      print its SQL instead
 *
 * Options: --schema <path> (default prisma/schema.prisma). DATABASE_URL selects the database.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  applyPendingMigrations,
  createMigration,
  DEFAULT_DATABASE_URL,
  DEFAULT_PATHS,
  diffSchema,
  getMigrationStatus,
  isUpToDate,
  MigrationError,
  type MigrationPaths,
  type MigrationStatus,
} from './lib/migrations';
import { redact } from './lib/postgres';

const USAGE = 'Usage: migrate.ts <deploy | status | diff <name> | diff --print> [--schema <path>]';

interface Invocation {
  command: string | undefined;
  name: string | undefined;
  print: boolean;
  paths: MigrationPaths;
  databaseUrl: string;
}

async function main(): Promise<number> {
  const invocation = parseInvocation(process.argv.slice(2));
  switch (invocation.command) {
    case 'deploy':
      return deploy(invocation);
    case 'status':
      return status(invocation);
    case 'diff':
      return diff(invocation);
    default:
      throw new MigrationError(USAGE);
  }
}

function parseInvocation(args: string[]): Invocation {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { schema: { type: 'string' }, print: { type: 'boolean', default: false } },
  });
  const [command, name, ...extra] = positionals;
  if (extra.length > 0) throw new MigrationError(USAGE);
  return {
    command,
    name,
    print: values.print ?? false,
    paths: { ...DEFAULT_PATHS, ...(values.schema ? { schemaPath: path.resolve(values.schema) } : {}) },
    databaseUrl: process.env.DATABASE_URL || DEFAULT_DATABASE_URL,
  };
}

async function deploy({ databaseUrl, paths }: Invocation): Promise<number> {
  const result = await applyPendingMigrations(databaseUrl, paths);
  if (result.databaseCreated) console.log(`Created database "${result.database}".`);
  console.log(`${result.migrationCount} migration(s) found in ${relative(paths.migrationsDir)}.`);
  if (result.applied.length === 0) {
    console.log(`No pending migrations to apply to "${result.database}".`);
  } else {
    console.log(`Applied ${result.applied.length} migration(s) to "${result.database}":`);
    for (const name of result.applied) console.log(`  ${name}`);
  }
  return 0;
}

async function status({ databaseUrl, paths }: Invocation): Promise<number> {
  const report = await getMigrationStatus(databaseUrl, paths);
  console.log(`Database: ${redact(databaseUrl)}${report.databaseExists ? '' : ' (does not exist yet)'}`);
  printNames('Applied', report.applied);
  printNames('Pending', report.pending);
  printNames('Failed (resolve before deploying)', report.failed);
  printNames('Edited after being applied', report.edited);
  printNames('Applied but missing from the migrations directory', report.missingLocally);
  printDrift(report, paths);
  const upToDate = isUpToDate(report);
  console.log(upToDate ? 'Database schema is up to date.' : 'Database schema is NOT up to date.');
  return upToDate ? 0 : 1;
}

function printNames(label: string, names: string[]): void {
  if (names.length === 0) return;
  console.log(`${label} (${names.length}):`);
  for (const name of names) console.log(`  ${name}`);
}

function printDrift({ schemaDrift, driftCheckError }: MigrationStatus, paths: MigrationPaths): void {
  if (driftCheckError !== null) {
    console.log(`Could not compare ${relative(paths.schemaPath)} with the migrations: ${driftCheckError}`);
    return;
  }
  if (schemaDrift === null) {
    console.log(`${relative(paths.schemaPath)} matches the migrations.`);
    return;
  }
  console.log(`${relative(paths.schemaPath)} has changes no migration captures yet (run db:diff <name>):`);
  console.log(schemaDrift.trimEnd());
}

async function diff({ databaseUrl, paths, name, print }: Invocation): Promise<number> {
  if (print) {
    const sql = await diffSchema(databaseUrl, paths);
    console.log(sql ?? '-- No changes: the migrations already match the schema.');
    return 0;
  }
  if (!name) throw new MigrationError(`diff needs a migration name. ${USAGE}`);
  const created = await createMigration(name, databaseUrl, paths);
  if (created === null) {
    console.log(`No changes: ${relative(paths.schemaPath)} matches the migrations. Nothing written.`);
  } else {
    console.log(`Wrote ${relative(path.join(created.directory, 'migration.sql'))}:`);
    console.log(created.sql.trimEnd());
  }
  return 0;
}

function relative(file: string): string {
  return path.relative(process.cwd(), file) || '.';
}

main().then(
  (exitCode) => {
    process.exitCode = exitCode;
  },
  (error: unknown) => {
    // Expected failures get their message only; anything else is a bug and keeps its stack.
    const badArguments = (error as { code?: string } | null)?.code?.startsWith('ERR_PARSE_ARGS');
    const expected = error instanceof MigrationError || badArguments;
    console.error(expected ? `Error: ${(error as Error).message}` : error);
    process.exitCode = 1;
  },
);
