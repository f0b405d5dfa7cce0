import { Client } from 'pg';
import { applyPendingMigrations } from '../../scripts/lib/migrations';
import { applyTestEnv, TEST_DATABASE_URL } from './test-env';

/** Once per run: bring the test database to the latest migration and empty it. */
export default async function globalSetup(): Promise<void> {
  applyTestEnv();
  await applyPendingMigrations(TEST_DATABASE_URL);
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'",
    );
    if (rows.length > 0) await client.query(`TRUNCATE ${rows.map((r) => `"${r.tablename}"`).join(', ')} CASCADE`);
  } finally {
    await client.end();
  }
}
