import { Injectable } from '@nestjs/common';
import { PermanentTaskError } from '../common/errors/task-errors';
import type { PayloadOf } from '../task-types/task-type-registry';
import type { TaskType } from '../task-types/task-types';
import type { StageContext } from './embedding.service';
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
  /** The scope as given: one document, several, or (both null) the whole kb. */
  document_id: string | null;
  document_ids: string[] | null;
}

/**
 * knowledge_indexing: rebuilds the kb's search indexes (or the part of the documents in
 * scope) — recomputes the full-text vector of every chunk in scope (the GIN index follows), refreshes planner statistics, and with
 * pgvector builds (kb-wide: rebuilds) the kb's HNSW index — and reports what is now searchable.
 */
@Injectable()
export class IndexingService {
  constructor(
    private readonly kb: KnowledgeBaseRepository,
    private readonly vectors: VectorStoreService,
  ) {}

  async rebuild(payload: PayloadOf<typeof TaskType.knowledge_indexing>, ctx: StageContext): Promise<IndexingResult> {
    const scope = payload.document_ids ?? (payload.document_id ? [payload.document_id] : undefined);
    if (scope) await this.requireDocuments(scope, ctx.kbId);
    await ctx.reportProgress(10, 'Rebuilding full-text index');
    const fulltextIndexed = await this.kb.rebuildFullText(ctx.kbId, scope);
    ctx.signal.throwIfAborted();
    await ctx.reportProgress(50, 'Rebuilding vector index');
    const vectorIndex = await this.vectors.rebuildIndex(ctx.kbId, scope);
    ctx.signal.throwIfAborted();
    await this.kb.markIndexed(ctx.kbId, scope);
    const counts = await this.kb.counts(ctx.kbId, scope);
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
      document_ids: payload.document_ids ?? null,
    };
  }

  private async requireDocuments(ids: string[], kbId: string): Promise<void> {
    const found = await this.kb.documentIdsInKb(kbId, ids);
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0) {
      throw new PermanentTaskError(
        `${missing.length === 1 ? 'Document' : 'Documents'} ${missing.join(', ')} not found in knowledge base ${kbId}`,
      );
    }
  }
}
