import type { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../../src/config/app.config';
import { PrismaService } from '../../src/prisma/prisma.service';
import { TEST_DATABASE_URL } from './test-env';

/**
 * The integration tier builds repositories by hand over a PrismaService of their own: no
 * Nest application, no Redis, no workers. Only the config sections repositories read exist.
 */
export function testConfig(sections: Partial<AllConfig> = {}, url = TEST_DATABASE_URL): ConfigService<AllConfig, true> {
  const all: Partial<AllConfig> = { database: { url, poolSize: 4 }, ...sections };
  return {
    getOrThrow: (key: keyof AllConfig) => {
      const value = all[key];
      if (value === undefined) throw new Error(`testConfig has no "${key}" section`);
      return value;
    },
  } as unknown as ConfigService<AllConfig, true>;
}

export function testPrisma(url = TEST_DATABASE_URL): PrismaService {
  return new PrismaService(testConfig({}, url));
}

/** A task row as the triggers and repositories see it; every column not given takes its default. */
export interface TaskRow {
  kbId: string;
  taskType?: string;
  priority?: string;
  status?: string;
  payload?: Record<string, unknown>;
  result?: Record<string, unknown> | null;
  startedAt?: Date | null;
  completedAt?: Date | null;
  callbackUrl?: string | null;
}

/**
 * Inserts a task straight into the table (as the hot path does, in SQL), so a trigger test
 * does not depend on how a repository writes. Returns its id.
 */
export async function insertTask(prisma: PrismaService, row: TaskRow): Promise<string> {
  const { rows } = await prisma.pool.query<{ id: string }>(
    `INSERT INTO tasks (task_type, kb_id, priority, status, payload, result, started_at, completed_at, callback_url)
     VALUES ($1::task_type, $2, $3::task_priority, $4::task_status, $5, $6, $7, $8, $9) RETURNING id`,
    [
      row.taskType ?? 'health_check',
      row.kbId,
      row.priority ?? 'normal',
      row.status ?? 'completed',
      row.payload ?? {},
      row.result ?? null,
      row.startedAt ?? null,
      row.completedAt ?? null,
      row.callbackUrl ?? null,
    ],
  );
  return rows[0].id;
}

/** Removes a test's tasks (their events and deliveries cascade), so no reconciler ever dispatches them. */
export async function deleteKbTasks(prisma: PrismaService, kbIds: readonly string[]): Promise<void> {
  if (kbIds.length > 0) await prisma.pool.query('DELETE FROM tasks WHERE kb_id = ANY($1)', [kbIds]);
}
