/**
 * Environment every test process runs with: its own database (never the service's) and
 * short timings so retries, heartbeats and reconciliation happen within a test's patience.
 */
export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/task_manager_test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function applyTestEnv(): void {
  process.env.DATABASE_URL = TEST_DATABASE_URL;
  process.env.REDIS_URL = TEST_REDIS_URL;
  process.env.LOG_LEVEL ??= 'error';
  process.env.TASK_RETRY_BACKOFF_MS ??= '100';
  process.env.WORKER_HEARTBEAT_MS ??= '1000';
  process.env.RECONCILE_INTERVAL_MS ??= '2000';
  process.env.WORKER_SHUTDOWN_GRACE_MS ??= '2000';
  // Webhook receivers in tests listen on 127.0.0.1. Every test app must allow that, not only
  // the webhook tests' own: the outbox lives in the shared database, so any running test
  // app's worker may be the one that delivers a webhook.
  process.env.WEBHOOK_ALLOW_PRIVATE ??= 'true';
  // Tests fire thousands of requests from one IP; the rate-limit tests set their own limit.
  process.env.RATE_LIMIT_PER_MINUTE ??= '0';
  // The auth tests send hundreds of wrong credentials from 127.0.0.1 on purpose.
  process.env.AUTH_FAILURE_LIMIT ??= '1000000';
  // The docs' example tasks run in kb_123456 of the shared database; only the examples test keeps them.
  process.env.SWAGGER_EXAMPLE_TASK ??= 'false';
}
