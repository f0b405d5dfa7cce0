import type {
  BatchProcessingPayloadDto,
  DocumentProcessingPayloadDto,
  EmbeddingGenerationPayloadDto,
  KnowledgeIndexingPayloadDto,
  VectorInputDto,
  VectorStoragePayloadDto,
} from '../tasks/dto/task-payloads.dto';

/**
 * The payloads the knowledge-base stages read: the validated payload DTOs (one statement of
 * each shape, in tasks/dto/task-payloads.dto.ts), named here for the pipeline services.
 */
export type DocumentProcessingPayload = DocumentProcessingPayloadDto;
export type EmbeddingGenerationPayload = EmbeddingGenerationPayloadDto;
export type VectorInput = VectorInputDto;
export type VectorStoragePayload = VectorStoragePayloadDto;
export type KnowledgeIndexingPayload = KnowledgeIndexingPayloadDto;
export type BatchProcessingPayload = BatchProcessingPayloadDto;

export const DEFAULT_CHUNK_SIZE = 1000;
export const DEFAULT_CHUNK_OVERLAP = 200;

/** The overlap used when none is given: 200, but never more than a fifth of a small chunk. */
export function defaultChunkOverlap(chunkSize: number): number {
  return Math.min(DEFAULT_CHUNK_OVERLAP, Math.floor(chunkSize / 5));
}
