-- Hand-written (the plain indexes left on `tasks` are also in schema.prisma; Prisma's schema
-- language has no partial indexes or storage parameters, and its diff ignores them).
--
-- Every UPDATE of a task that is not HOT adds an entry to every index of `tasks`, and a task's
-- claim and completion change its status and timestamps, so neither can be HOT: 13 full
-- indexes meant 39 index entries per task (insert, claim, complete). What each index served,
-- checked with EXPLAIN on a 1M-task table (bench/README.md, "PostgreSQL per task"):
--
-- * (status, created_at): the reconciler's queued/processing reads and a status filter over
--   all kbs. Unfinished tasks are the only status a walk needs (finished ones are most rows,
--   so a created_at walk finds a page of them at once): a partial index holds just those,
--   two entries per task instead of three. A finished status filter is a created_at walk.
-- * (task_type, created_at), (priority, created_at): filters with a handful of values, which
--   a created_at walk (or the kb indexes) serves as well on every list EXPLAIN measured.
-- * (task_type, status, priority, created_at): only the queue-position count, which reads
--   queued tasks only: partial, one entry per task (its insert).
-- * (task_type, completed_at), parent_id: read only where the value is not NULL (recent run
--   times of finished tasks; a task's children): partial, so the many rows without one (and
--   every version before completion) cost no entry.
--
-- Kept as they were: created_at, (kb_id, created_at), (kb_id, status, created_at) — the list's
-- filters and default order; updated_at, started_at, completed_at — its sort orders (and the
-- timeseries, retention and system rate on completed_at); the partial document_id,
-- (kb_id, completed_at) and error_message trigram indexes. 26 index entries per task now.
--
-- CREATE INDEX (not CONCURRENTLY: migrations run in a transaction) blocks writes to `tasks`
-- while it builds; on a large table apply this migration in a quiet moment.

DROP INDEX "tasks_status_created_at_idx";
DROP INDEX "tasks_task_type_created_at_idx";
DROP INDEX "tasks_priority_created_at_idx";
DROP INDEX "tasks_task_type_status_priority_created_at_idx";
DROP INDEX "tasks_task_type_completed_at_idx";
DROP INDEX "tasks_parent_id_idx";

CREATE INDEX "tasks_unfinished_idx" ON "tasks" ("status", "created_at") WHERE "status" IN ('queued', 'processing');
CREATE INDEX "tasks_queue_position_idx" ON "tasks" ("task_type", "priority", "created_at") WHERE "status" = 'queued';
CREATE INDEX "tasks_task_type_completed_at_idx" ON "tasks" ("task_type", "completed_at") WHERE "completed_at" IS NOT NULL;
CREATE INDEX "tasks_parent_id_idx" ON "tasks" ("parent_id") WHERE "parent_id" IS NOT NULL;

-- Room on each page for a row's next version: an update then writes one page instead of two
-- (the old version's page and wherever the new one fits), and page pruning reclaims the old
-- version in place. New pages only; existing ones fill up as before until rewritten.
ALTER TABLE "tasks" SET (fillfactor = 80);
