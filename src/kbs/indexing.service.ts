import { Injectable } from '@nestjs/common';
import { PermanentTaskError } from '../workers/task-errors';
import type { StageContext } from './embedding.service';
import type { KnowledgeIndexingPayload } from './kb-payloads';
import { FTS_CONFIG, KnowledgeBaseRepository } from './knowledge-base.repository';
import type { VectorIndexReport } from './vector-backend';
import { VectorStoreService } from './vector-store.service';

export interface IndexingResult {
  documents: number;
  chunks: number;
  vectors: number;
  fulltext_indexed: number;
  fulltext_config: string;
  /** `<backend> (<search>)`, e.g. `pgvector (hnsw_cosine)`. */
  vector_index: string;
  /** The kb's HNSW index (pgvector), null when searches read every vector. */
  vector_index_name: string | null;
  vector_index_action: VectorIndexReport['action'];
  /** Vectors whose pgvector column was refreshed from their float array. */
  vectors_synced: number;
  document_id: string | null;
}

/**
 * knowledge_indexing: rebuilds the kb's search indexes — recomputes the full-text vector
 * of every chunk in scope (the GIN index follows), refreshes planner statistics, and with
 * pgvector builds (kb-wide: rebuilds) the kb's HNSW index — and reports what is now searchable.
 */
@Injectable()
export class IndexingService {
  constructor(
    private readonly kb: KnowledgeBaseRepository,
    private readonly vectors: VectorStoreService,
  ) {}

  async rebuild(payload: KnowledgeIndexingPayload, ctx: StageContext): Promise<IndexingResult> {
    if (payload.document_id) {
      const document = await this.kb.findDocument(ctx.kbId, payload.document_id);
      if (!document) {
        throw new PermanentTaskError(`Document ${payload.document_id} not found in knowledge base ${ctx.kbId}`);
      }
    }
    await ctx.reportProgress(10, 'Rebuilding full-text index');
    const fulltextIndexed = await this.kb.rebuildFullText(ctx.kbId, payload.document_id);
    ctx.signal.throwIfAborted();
    await ctx.reportProgress(50, 'Rebuilding vector index');
    const vectorIndex = await this.vectors.rebuildIndex(ctx.kbId, payload.document_id);
    ctx.signal.throwIfAborted();
    await this.kb.markIndexed(ctx.kbId, payload.document_id);
    const counts = await this.kb.counts(ctx.kbId, payload.document_id);
    const backend = await this.vectors.backend();
    return {
      ...counts,
      fulltext_indexed: fulltextIndexed,
      fulltext_config: FTS_CONFIG,
      vector_index: `${backend.backend} (${backend.search})`,
      vector_index_name: vectorIndex.name,
      vector_index_action: vectorIndex.action,
      vectors_synced: vectorIndex.synced,
      document_id: payload.document_id ?? null,
    };
  }
}
