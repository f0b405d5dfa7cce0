/**
 * An expected failure (unreachable database, failed migration, bad arguments): the CLI
 * prints its message alone, without a stack trace.
 */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}
