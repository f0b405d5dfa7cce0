-- CreateTable
CREATE TABLE "idempotency_keys" (
    "key" VARCHAR(300) NOT NULL,
    "request_hash" VARCHAR(64) NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "task_ids" UUID[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "idempotency_keys_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "idempotency_keys_expires_at_idx" ON "idempotency_keys"("expires_at");
