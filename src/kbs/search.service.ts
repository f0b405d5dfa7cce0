import { Injectable } from '@nestjs/common';
import { InvalidRequestError } from '../common/errors/domain.error';
import { round } from '../common/utils/round';
import { EmbeddingService } from './embedding.service';
import { ChunkHit, KnowledgeBaseRepository } from './knowledge-base.repository';
import { VectorStoreService } from './vector-store.service';

export type SearchMode = 'vector' | 'fulltext' | 'hybrid';

export interface SearchHit {
  chunk_id: string | null;
  document_id: string | null;
  chunk_index: number | null;
  source_path: string | null;
  content: string | null;
  score: number;
  /** Places in the two rankings a hybrid score was fused from (1-based; null when absent there). */
  fulltext_rank?: number | null;
  vector_rank?: number | null;
}

/** Reciprocal-rank-fusion constant: damps the weight of the very top ranks (the usual 60). */
const RRF_K = 60;
/** How deep each ranking is read before fusing. */
const FUSION_DEPTH = 50;

/**
 * Search over a kb's chunks: PostgreSQL full-text ranking, cosine similarity of the query's
 * embedding against the stored vectors (exact, or HNSW with pgvector), or both fused by
 * reciprocal rank — so a user can check that what the pipeline stored is findable.
 */
@Injectable()
export class SearchService {
  constructor(
    private readonly kb: KnowledgeBaseRepository,
    private readonly embeddings: EmbeddingService,
    private readonly vectors: VectorStoreService,
  ) {}

  async search(kbId: string, query: string, mode: SearchMode, limit: number): Promise<SearchHit[]> {
    if (mode === 'fulltext') return (await this.kb.fullTextSearch(kbId, query, limit)).map(toHit);
    if (mode === 'vector') return (await this.vectorHits(kbId, query, limit)).map(toHit);
    const [fulltext, vector] = await Promise.all([
      this.kb.fullTextSearch(kbId, query, FUSION_DEPTH),
      this.vectorHits(kbId, query, FUSION_DEPTH),
    ]);
    return fuse(fulltext, vector).slice(0, limit);
  }

  private async vectorHits(kbId: string, query: string, limit: number): Promise<ChunkHit[]> {
    const kb = await this.kb.knowledgeBase(kbId);
    if (!kb?.dimension) return [];
    const { provider } = this.embeddings;
    if ((kb.model && kb.model !== provider.model) || kb.dimension !== provider.dimension) {
      throw new InvalidRequestError(
        `Vector search embeds the query with ${provider.model} (${provider.dimension} dimensions), but knowledge base ${kbId} stores ${kb.model ?? 'external'} vectors of ${kb.dimension} dimensions`,
        { kb_id: kbId, mode: 'vector' },
      );
    }
    return this.vectors.nearest(kbId, kb.model, kb.dimension, await this.embeddings.embedQuery(query), limit);
  }
}

function toHit(hit: ChunkHit): SearchHit {
  return {
    chunk_id: hit.chunk_id,
    document_id: hit.document_id,
    chunk_index: hit.chunk_index,
    source_path: hit.source_path,
    content: hit.content,
    score: round(hit.score, 6),
  };
}

/** Reciprocal rank fusion: score = Σ 1 / (k + rank) over the rankings a chunk appears in. */
export function fuse(fulltext: ChunkHit[], vector: ChunkHit[]): SearchHit[] {
  const byChunk = new Map<string, SearchHit>();
  const add = (hits: ChunkHit[], key: 'fulltext_rank' | 'vector_rank') => {
    hits.forEach((hit, i) => {
      const entry = byChunk.get(hit.chunk_id) ?? { ...toHit(hit), score: 0, fulltext_rank: null, vector_rank: null };
      entry[key] = i + 1;
      entry.score += 1 / (RRF_K + i + 1);
      byChunk.set(hit.chunk_id, entry);
    });
  };
  add(fulltext, 'fulltext_rank');
  add(vector, 'vector_rank');
  return [...byChunk.values()]
    .map((hit) => ({ ...hit, score: round(hit.score, 6) }))
    .sort((a, b) => b.score - a.score || (a.fulltext_rank ?? Infinity) - (b.fulltext_rank ?? Infinity));
}
