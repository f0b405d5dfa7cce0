-- CreateEnum
CREATE TYPE "task_type" AS ENUM ('document_processing', 'batch_processing', 'knowledge_indexing', 'embedding_generation', 'vector_storage', 'health_check');

-- CreateEnum
CREATE TYPE "task_priority" AS ENUM ('low', 'normal', 'high', 'critical');

-- CreateEnum
CREATE TYPE "task_status" AS ENUM ('queued', 'processing', 'completed', 'failed', 'cancelled');

-- CreateTable
CREATE TABLE "tasks" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "task_type" "task_type" NOT NULL,
    "kb_id" VARCHAR(128) NOT NULL,
    "priority" "task_priority" NOT NULL DEFAULT 'normal',
    "status" "task_status" NOT NULL DEFAULT 'queued',
    "payload" JSONB NOT NULL,
    "result" JSONB,
    "progress" SMALLINT NOT NULL DEFAULT 0,
    "progress_message" TEXT,
    "retry_count" INTEGER NOT NULL DEFAULT 0,
    "max_retries" INTEGER NOT NULL DEFAULT 3,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "timeout" INTEGER NOT NULL DEFAULT 300,
    "schedule_for" TIMESTAMPTZ(3),
    "error_message" TEXT,
    "worker_id" VARCHAR(128),
    "parent_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "tasks_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "tasks_created_at_idx" ON "tasks"("created_at");

-- CreateIndex
CREATE INDEX "tasks_kb_id_created_at_idx" ON "tasks"("kb_id", "created_at");

-- CreateIndex
CREATE INDEX "tasks_status_created_at_idx" ON "tasks"("status", "created_at");

-- CreateIndex
CREATE INDEX "tasks_task_type_created_at_idx" ON "tasks"("task_type", "created_at");

-- CreateIndex
CREATE INDEX "tasks_priority_created_at_idx" ON "tasks"("priority", "created_at");

-- CreateIndex
CREATE INDEX "tasks_kb_id_status_created_at_idx" ON "tasks"("kb_id", "status", "created_at");

-- CreateIndex
CREATE INDEX "tasks_updated_at_idx" ON "tasks"("updated_at");

-- CreateIndex
CREATE INDEX "tasks_started_at_idx" ON "tasks"("started_at");

-- CreateIndex
CREATE INDEX "tasks_completed_at_idx" ON "tasks"("completed_at");

-- CreateIndex
CREATE INDEX "tasks_task_type_completed_at_idx" ON "tasks"("task_type", "completed_at");

-- CreateIndex
CREATE INDEX "tasks_parent_id_idx" ON "tasks"("parent_id");

-- CreateIndex
CREATE INDEX "tasks_task_type_status_priority_created_at_idx" ON "tasks"("task_type", "status", "priority", "created_at");
