import { Client } from 'pg';
import { applyPendingMigrations } from '../../scripts/lib/migrations';
import { applyTestEnv, TEST_DATABASE_URL } from './test-env';

/** Tables emptied of rows older than an hour, so the test database does not grow run after run. */
const AGED_TABLES = ['tasks', 'documents', 'vectors', 'knowledge_bases', 'idempotency_keys'];

/**
 * Once per run: bring the test database to the latest migration. Tests isolate themselves
 * by kb_id and queue prefix, so nothing is truncated — several runs (or developers) may
 * share the database at once; only rows older than an hour are removed.
 */
export default async function globalSetup(): Promise<void> {
  applyTestEnv();
  await applyPendingMigrations(TEST_DATABASE_URL);
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    for (const table of AGED_TABLES)
      await client.query(`DELETE FROM ${table} WHERE created_at < now() - interval '1 hour'`);
  } finally {
    await client.end();
  }
}
