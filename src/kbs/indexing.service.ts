import { Injectable } from '@nestjs/common';
import { PermanentTaskError } from '../workers/task-errors';
import type { StageContext } from './embedding.service';
import type { KnowledgeIndexingPayload } from './kb-payloads';
import { FTS_CONFIG, KnowledgeBaseRepository } from './knowledge-base.repository';
import { VectorStoreService } from './vector-store.service';

export interface IndexingResult {
  documents: number;
  chunks: number;
  vectors: number;
  fulltext_indexed: number;
  fulltext_config: string;
  vector_index: string;
  document_id: string | null;
}

/**
 * knowledge_indexing: rebuilds the kb's search indexes — recomputes the full-text vector
 * of every chunk in scope (the GIN index follows) and refreshes planner statistics — and
 * reports what is now searchable.
 */
@Injectable()
export class IndexingService {
  constructor(
    private readonly kb: KnowledgeBaseRepository,
    private readonly vectors: VectorStoreService,
  ) {}

  async rebuild(payload: KnowledgeIndexingPayload, ctx: StageContext): Promise<IndexingResult> {
    if (payload.document_id) {
      const document = await this.kb.findDocument(payload.document_id);
      if (!document || document.kbId !== ctx.kbId) {
        throw new PermanentTaskError(`Document ${payload.document_id} not found in knowledge base ${ctx.kbId}`);
      }
    }
    await ctx.reportProgress(10, 'Rebuilding full-text index');
    const fulltextIndexed = await this.kb.rebuildFullText(ctx.kbId, payload.document_id);
    ctx.signal.throwIfAborted();
    await this.kb.markIndexed(ctx.kbId, payload.document_id);
    const counts = await this.kb.counts(ctx.kbId, payload.document_id);
    const info = this.vectors.info();
    return {
      ...counts,
      fulltext_indexed: fulltextIndexed,
      fulltext_config: FTS_CONFIG,
      vector_index: `${info.backend} (${info.search})`,
      document_id: payload.document_id ?? null,
    };
  }
}
