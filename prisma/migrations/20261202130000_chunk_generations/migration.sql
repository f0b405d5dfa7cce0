-- Chunks are written under a new generation and the document flips to it when all are
-- stored, so a big document needs no long transaction and readers never see a mix.
DROP INDEX "chunks_document_id_chunk_index_key";

ALTER TABLE "chunks" ADD COLUMN     "generation" BIGINT NOT NULL DEFAULT 0;

ALTER TABLE "documents" ADD COLUMN     "generation" BIGINT NOT NULL DEFAULT 0;

CREATE UNIQUE INDEX "chunks_document_id_generation_chunk_index_key" ON "chunks"("document_id", "generation", "chunk_index");

-- One sequence for every document: a later (re)processing always draws a larger generation.
CREATE SEQUENCE "chunk_generation_seq";
