-- CreateEnum
CREATE TYPE "task_event_kind" AS ENUM ('created', 'status', 'progress');

-- AlterTable
ALTER TABLE "tasks" ADD COLUMN     "callback_secret" TEXT,
ADD COLUMN     "callback_url" TEXT,
ADD COLUMN     "document_id" TEXT;

-- CreateTable
CREATE TABLE "task_events" (
    "id" BIGSERIAL NOT NULL,
    "task_id" UUID NOT NULL,
    "kb_id" VARCHAR(128) NOT NULL,
    "task_type" "task_type" NOT NULL,
    "kind" "task_event_kind" NOT NULL,
    "status" "task_status" NOT NULL,
    "progress" SMALLINT NOT NULL,
    "message" TEXT,
    "attempt" INTEGER NOT NULL,
    "error" TEXT,
    "worker_id" VARCHAR(128),
    "webhook_pending" BOOLEAN NOT NULL DEFAULT false,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "task_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_deliveries" (
    "id" BIGSERIAL NOT NULL,
    "task_id" UUID NOT NULL,
    "event_id" BIGINT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "url" TEXT NOT NULL,
    "status_code" INTEGER,
    "error" TEXT,
    "duration_ms" INTEGER NOT NULL,
    "succeeded" BOOLEAN NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "task_events_task_id_id_idx" ON "task_events"("task_id", "id");

-- CreateIndex
CREATE INDEX "task_events_kb_id_id_idx" ON "task_events"("kb_id", "id");

-- CreateIndex
CREATE INDEX "webhook_deliveries_task_id_id_idx" ON "webhook_deliveries"("task_id", "id");

-- AddForeignKey
ALTER TABLE "task_events" ADD CONSTRAINT "task_events_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- ---------------------------------------------------------------------------------------
-- Hand-written below: Prisma's schema language has no triggers, partial or operator-class
-- indexes, and its diff ignores them, so they live here only.
-- ---------------------------------------------------------------------------------------

-- Task history and live events. Every INSERT and every UPDATE that changes what a client
-- can watch (status, attempt, progress, its message, the error) appends one row, whoever
-- wrote it: the API, a worker's lifecycle, parent/child logic, bulk actions or raw SQL.
-- A task's events are appended under its row lock, so their ids are in commit order.
-- Deliberately lean for the hot path: one INSERT, no NOTIFY (NOTIFY takes a global lock at
-- commit and cut update throughput to a third here); readers poll by id instead.
CREATE FUNCTION record_task_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO task_events (task_id, kb_id, task_type, kind, status, progress, message, attempt, error, worker_id, webhook_pending, at)
  VALUES (
    NEW.id, NEW.kb_id, NEW.task_type,
    CASE
      WHEN TG_OP = 'INSERT' THEN 'created'
      WHEN OLD.status IS DISTINCT FROM NEW.status OR OLD.attempt IS DISTINCT FROM NEW.attempt THEN 'status'
      ELSE 'progress'
    END::task_event_kind,
    NEW.status, NEW.progress, NEW.progress_message, NEW.attempt,
    -- The error belongs to the event that ends a failed attempt (retry or final failure).
    CASE
      WHEN NEW.status = 'failed' THEN NEW.error_message
      WHEN TG_OP = 'UPDATE' AND OLD.status = 'processing' AND NEW.status = 'queued' THEN NEW.error_message
    END,
    NEW.worker_id,
    -- The webhook outbox: a terminal transition of a task that asked for a callback.
    NEW.callback_url IS NOT NULL
      AND NEW.status IN ('completed', 'failed', 'cancelled')
      AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status),
    clock_timestamp()
  );
  RETURN NULL;
END $$;

CREATE TRIGGER tasks_record_event_on_insert
  AFTER INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION record_task_event();

-- The WHEN clause is evaluated without entering PL/pgSQL, so updates that change nothing
-- watchable (heartbeat-like touches, parent_id nulled by a deleted parent) cost nothing.
CREATE TRIGGER tasks_record_event_on_update
  AFTER UPDATE ON tasks FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status
     OR OLD.attempt IS DISTINCT FROM NEW.attempt
     OR OLD.progress IS DISTINCT FROM NEW.progress
     OR OLD.progress_message IS DISTINCT FROM NEW.progress_message
     OR OLD.error_message IS DISTINCT FROM NEW.error_message)
  EXECUTE FUNCTION record_task_event();

-- Terminal events whose webhook still has to be queued: tiny, as rows leave it once queued.
CREATE INDEX task_events_webhook_pending_idx ON task_events (id) WHERE webhook_pending;

-- tasks.document_id: the document a task is about, for the list filter. A trigger rather
-- than a generated column so large payloads are not re-read on every progress update:
-- payload on insert, result when one is written.
CREATE FUNCTION set_task_document_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.document_id := left(coalesce(NEW.result ->> 'document_id', NEW.payload ->> 'document_id'), 200);
  ELSE
    NEW.document_id := coalesce(left(NEW.result ->> 'document_id', 200), OLD.document_id);
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER tasks_set_document_id
  BEFORE INSERT OR UPDATE OF result ON tasks FOR EACH ROW EXECUTE FUNCTION set_task_document_id();

-- Search indexes. Partial, so the many rows without a value (and the many updates of them)
-- cost no index entry.
CREATE INDEX tasks_document_id_idx ON tasks (document_id) WHERE document_id IS NOT NULL;
CREATE INDEX tasks_kb_id_completed_at_idx ON tasks (kb_id, completed_at) WHERE completed_at IS NOT NULL;

-- error_message ILIKE '%text%' through a trigram index when pg_trgm can be installed (it is
-- a trusted extension from PostgreSQL 13 on); without it the filter still works, by scan.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX tasks_error_message_trgm_idx ON tasks USING gin (error_message gin_trgm_ops) WHERE error_message IS NOT NULL;
  ELSE
    RAISE NOTICE 'pg_trgm is not available: error_message search runs without an index';
  END IF;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'pg_trgm could not be installed (%): error_message search runs without an index', SQLERRM;
END $$;
