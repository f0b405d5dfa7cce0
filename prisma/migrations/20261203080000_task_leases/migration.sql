-- Hand-written: leases of tasks run by external workers (EXTERNAL_TASK_TYPES; see
-- docs/external-workers.md). A worker leases a queued task over REST and must heartbeat or
-- finish it before lease_expires_at; the token names that one lease, so a worker whose lease
-- expired, or whose task was leased again since, changes nothing.
--
-- * lease_token: the current (or last) lease of the task. Kept when the lease expires, so the
--   late worker is told LEASE_EXPIRED rather than LEASE_LOST until another worker leases it.
-- * lease_expires_at: set while a lease runs, cleared when it ends.
-- * lease_attempts: leases taken since the task was created or explicitly retried; an expired
--   or retryable failed lease requeues the task while it is at most max_retries (the
--   built-in workers count the same through BullMQ's attemptsMade).
--
-- The sweeper reads expired leases every second: a partial index holds only running leases,
-- so it stays as small as the number of leased tasks and costs the built-in path nothing
-- (its tasks never have a lease_expires_at, so they never get an entry).

ALTER TABLE "tasks"
  ADD COLUMN "lease_token" UUID,
  ADD COLUMN "lease_expires_at" TIMESTAMPTZ(3),
  ADD COLUMN "lease_attempts" INTEGER NOT NULL DEFAULT 0;

CREATE INDEX "tasks_lease_expiry_idx" ON "tasks" ("lease_expires_at")
  WHERE "status" = 'processing' AND "lease_expires_at" IS NOT NULL;
