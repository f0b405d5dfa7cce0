/** Payload shapes of the knowledge-base task types (validated by tasks/payload-validator.service.ts). */
export interface DocumentProcessingPayload {
  file_path: string;
  chunk_size?: number;
  chunk_overlap?: number;
  document_id?: string;
  metadata?: Record<string, unknown>;
  /** Chain embedding_generation → vector_storage → knowledge_indexing after this document. */
  pipeline?: boolean;
}

export interface EmbeddingGenerationPayload {
  document_id?: string;
  chunk_ids?: string[];
  model?: string;
  batch_size?: number;
}

export interface VectorInput {
  id?: string;
  chunk_id?: string;
  values: number[];
  metadata?: Record<string, unknown>;
}

export interface VectorStoragePayload {
  vectors?: VectorInput[];
  document_id?: string;
  model?: string;
}

export interface KnowledgeIndexingPayload {
  document_id?: string;
}

export interface BatchProcessingPayload {
  items?: Array<Record<string, unknown>>;
  file_paths?: string[];
  chunk_size?: number;
  chunk_overlap?: number;
  pipeline?: boolean;
}

export const DEFAULT_CHUNK_SIZE = 1000;
export const DEFAULT_CHUNK_OVERLAP = 200;

/** The overlap used when none is given: 200, but never more than a fifth of a small chunk. */
export function defaultChunkOverlap(chunkSize: number): number {
  return Math.min(DEFAULT_CHUNK_OVERLAP, Math.floor(chunkSize / 5));
}
