import { Injectable } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { KnowledgeBaseRepository, VectorUpsert } from './knowledge-base.repository';
import type { VectorBackend, VectorHit, VectorIndexReport } from './vector-backend';

/**
 * The portable vector store: a `real[]` per vector and exact cosine similarity computed in SQL
 * over every vector of the kb. Works on any PostgreSQL; fine for tens of thousands of vectors
 * per kb, since each search reads them all.
 */
@Injectable()
export class FloatArrayVectorRepository implements VectorBackend {
  readonly backend = 'float_array' as const;
  readonly search = 'exact_cosine' as const;

  constructor(
    private readonly prisma: PrismaService,
    private readonly kb: KnowledgeBaseRepository,
  ) {}

  upsert(kbId: string, vectors: VectorUpsert[]): Promise<number> {
    return this.kb.upsertVectors(kbId, vectors);
  }

  nearest(
    kbId: string,
    model: string | null,
    _dimension: number,
    query: number[],
    limit: number,
  ): Promise<VectorHit[]> {
    const modelFilter = model === null ? Prisma.sql`v.model IS NULL` : Prisma.sql`v.model = ${model}`;
    return this.prisma.$queryRaw<VectorHit[]>`
      WITH q AS (SELECT ${query}::real[] AS qv),
      scored AS (
        SELECT v.id, v.chunk_id, v.document_id,
               (SELECT sum(a * b) FROM unnest(v."values", q.qv) AS t(a, b))
                 / NULLIF(sqrt((SELECT sum(a * a) FROM unnest(v."values") AS a)) *
                          sqrt((SELECT sum(b * b) FROM unnest(q.qv) AS b)), 0) AS score
        FROM vectors v, q
        WHERE v.kb_id = ${kbId} AND ${modelFilter}
      )
      SELECT s.id AS vector_id, s.chunk_id, s.document_id, c.chunk_index, c.content, d.source_path, s.score::float8 AS score
      FROM scored s
      LEFT JOIN chunks c ON c.id = s.chunk_id AND c.kb_id = ${kbId}
      LEFT JOIN documents d ON d.id = s.document_id AND d.kb_id = ${kbId}
      WHERE s.score IS NOT NULL
      ORDER BY s.score DESC
      LIMIT ${limit}`;
  }

  /** Exact search reads every vector anyway: there is no index to build. */
  rebuildIndex(): Promise<VectorIndexReport> {
    return Promise.resolve({ name: null, action: 'none', synced: 0 });
  }
}
