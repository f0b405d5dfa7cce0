import type { ChunkHit, VectorUpsert } from './knowledge-base.repository';

/** A vector search hit: the chunk it points to (when it has one) and its cosine similarity as `score`. */
export type VectorHit = ChunkHit & { vector_id: string };

/** What a (re)build of a kb's vector index did. */
export interface VectorIndexReport {
  /** The index's name, or null for a backend (or kb) that searches without one. */
  name: string | null;
  /** created: built now; rebuilt: built again from the stored vectors; kept: already there; none: no index. */
  action: 'created' | 'rebuilt' | 'kept' | 'none';
  /** Vectors whose pgvector column was (re)filled from their float array before the build. */
  synced: number;
}

/**
 * Where a kb's vectors live and how they are searched. Two adapters exist because PostgreSQL
 * may or may not have pgvector: start-up picks one (VectorStoreService) and everything else
 * stays unaware of which.
 */
export interface VectorBackend {
  readonly backend: 'pgvector' | 'float_array';
  readonly search: 'hnsw_cosine' | 'exact_cosine';

  /** Upserts vectors of one kb, all of the kb's dimension (the caller has checked it). */
  upsert(kbId: string, vectors: VectorUpsert[]): Promise<number>;

  /** The `limit` vectors of the kb (and model) nearest to `query` by cosine, best first. */
  nearest(kbId: string, model: string | null, dimension: number, query: number[], limit: number): Promise<VectorHit[]>;

  /**
   * knowledge_indexing's share: make the kb's vector index current. With documents in scope
   * only their vectors changed, so an existing index is kept; without them the index is
   * rebuilt from the kb's stored vectors.
   */
  rebuildIndex(kbId: string, dimension: number, documentIds?: string[]): Promise<VectorIndexReport>;
}
