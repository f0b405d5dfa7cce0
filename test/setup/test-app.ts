import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import Redis from 'ioredis';
import request from 'supertest';
import type { App } from 'supertest/types';
import { AppModule } from '../../src/app.module';
import { createHttpApp } from '../../src/bootstrap';
import { AppRole } from '../../src/config/env.validation';
import { PrismaService } from '../../src/prisma/prisma.service';
import { waitFor } from './helpers';
import { applyTestEnv, TEST_REDIS_URL } from './test-env';

export { KbTracker, uniqueKb, waitFor } from './helpers';

export interface TestApp {
  app: NestFastifyApplication;
  http: App;
  prisma: PrismaService;
  prefix: string;
  close(): Promise<void>;
}

/**
 * The real application (API and workers in one process unless told otherwise) against the
 * real PostgreSQL and Redis. Each app gets its own BullMQ prefix, so test files never see
 * each other's queues or workers.
 */
export async function createTestApp(env: Record<string, string> = {}, role = AppRole.Both): Promise<TestApp> {
  applyTestEnv();
  const prefix = `tmtest_${randomBytes(4).toString('hex')}`;
  Object.assign(process.env, { QUEUE_PREFIX: prefix, APP_ROLE: role }, env);
  const app = await createHttpApp(AppModule.forRole(role), { logger: ['error'], abortOnError: false });
  await app.init();
  // supertest talks to the bare http.Server: Fastify must have finished loading its plugins and routes.
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    http: app.getHttpServer() as App,
    prisma: app.get(PrismaService),
    prefix,
    close: async () => {
      await app.close();
      await deleteRedisKeys(prefix);
    },
  };
}

/**
 * Removes a test's keys (SCAN + UNLINK under its own prefix, and the `{prefix:…}` hash-tagged
 * ones such as the embedding budget's), so Redis does not grow run after run.
 */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    for (const pattern of [`${prefix}:*`, `{${prefix}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        if (keys.length > 0) await redis.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
  } catch {
    // Redis stopped by the test itself: nothing to clean, or nothing reachable to clean.
  } finally {
    redis.disconnect();
  }
}

/** The task as GET /api/v1/tasks/{id} shows it once it has ended (completed, failed or cancelled). */
export function waitForSettled(http: App, id: string, timeoutMs = 30000): Promise<Record<string, any>> {
  return waitFor(
    async () => (await request(http).get(`/api/v1/tasks/${id}`)).body as Record<string, any>,
    (task) => ['completed', 'failed', 'cancelled'].includes(task.status as string),
    { timeoutMs, what: `task ${id} to settle` },
  );
}
