-- CreateTable
CREATE TABLE "documents" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "kb_id" VARCHAR(128) NOT NULL,
    "source_path" TEXT NOT NULL,
    "format" VARCHAR(16) NOT NULL,
    "content_hash" VARCHAR(64) NOT NULL,
    "characters" INTEGER NOT NULL,
    "pages" INTEGER,
    "chunk_count" INTEGER NOT NULL,
    "chunk_size" INTEGER NOT NULL,
    "chunk_overlap" INTEGER NOT NULL,
    "metadata" JSONB,
    "last_task_id" UUID,
    "indexed_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "documents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "chunks" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "document_id" UUID NOT NULL,
    "kb_id" VARCHAR(128) NOT NULL,
    "chunk_index" INTEGER NOT NULL,
    "content" TEXT NOT NULL,
    "start_offset" INTEGER NOT NULL,
    "end_offset" INTEGER NOT NULL,
    "tsv" tsvector,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "chunks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "embeddings" (
    "chunk_id" UUID NOT NULL,
    "model" VARCHAR(200) NOT NULL,
    "dimension" INTEGER NOT NULL,
    "values" REAL[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "embeddings_pkey" PRIMARY KEY ("chunk_id","model")
);

-- CreateTable
CREATE TABLE "vectors" (
    "kb_id" VARCHAR(128) NOT NULL,
    "id" VARCHAR(200) NOT NULL,
    "chunk_id" UUID,
    "document_id" UUID,
    "model" VARCHAR(200),
    "dimension" INTEGER NOT NULL,
    "values" REAL[],
    "metadata" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "vectors_pkey" PRIMARY KEY ("kb_id","id")
);

-- CreateTable
CREATE TABLE "knowledge_bases" (
    "kb_id" VARCHAR(128) NOT NULL,
    "dimension" INTEGER,
    "model" VARCHAR(200),
    "indexed_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "knowledge_bases_pkey" PRIMARY KEY ("kb_id")
);

-- CreateIndex
CREATE INDEX "documents_kb_id_created_at_idx" ON "documents"("kb_id", "created_at");

-- CreateIndex
CREATE INDEX "documents_kb_id_source_path_idx" ON "documents"("kb_id", "source_path");

-- CreateIndex
CREATE INDEX "chunks_kb_id_idx" ON "chunks"("kb_id");

-- CreateIndex
CREATE INDEX "chunks_tsv_idx" ON "chunks" USING GIN ("tsv");

-- CreateIndex
CREATE UNIQUE INDEX "chunks_document_id_chunk_index_key" ON "chunks"("document_id", "chunk_index");

-- CreateIndex
CREATE INDEX "vectors_document_id_idx" ON "vectors"("document_id");

-- CreateIndex
CREATE INDEX "vectors_chunk_id_idx" ON "vectors"("chunk_id");

-- AddForeignKey
ALTER TABLE "chunks" ADD CONSTRAINT "chunks_document_id_fkey" FOREIGN KEY ("document_id") REFERENCES "documents"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "embeddings" ADD CONSTRAINT "embeddings_chunk_id_fkey" FOREIGN KEY ("chunk_id") REFERENCES "chunks"("id") ON DELETE CASCADE ON UPDATE CASCADE;
