import { Injectable } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client';
import type { Document } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';

/** Text search configuration for chunks; English stemming suits most knowledge-base content. */
export const FTS_CONFIG = 'english';

export interface NewChunk {
  index: number;
  content: string;
  start: number;
  end: number;
}

export interface DocumentUpsert {
  id: string;
  kbId: string;
  sourcePath: string;
  format: string;
  contentHash: string;
  characters: number;
  pages: number | null;
  chunkSize: number;
  chunkOverlap: number;
  metadata: Record<string, unknown> | null;
  taskId: string;
}

export interface VectorUpsert {
  id: string;
  chunkId: string | null;
  documentId: string | null;
  model: string | null;
  values: number[];
  metadata: Record<string, unknown> | null;
}

export interface ChunkHit {
  chunk_id: string;
  document_id: string;
  chunk_index: number;
  content: string;
  source_path: string;
  score: number;
}

/** Vectors of one dimension as one flat array, sliced back per row in SQL (one bound parameter, not thousands). */
function flatten(vectors: number[][]): number[] {
  const flat: number[] = [];
  for (const vector of vectors) for (const value of vector) flat.push(value);
  return flat;
}

/**
 * Documents, chunks, embeddings and vectors of knowledge bases. Bulk writes are single
 * statements over arrays (unnest), so a document of thousands of chunks is stored in one
 * round trip, and replacing a document's chunks happens in one transaction.
 */
@Injectable()
export class KnowledgeBaseRepository {
  constructor(private readonly prisma: PrismaService) {}

  findDocument(id: string): Promise<Document | null> {
    return this.prisma.document.findUnique({ where: { id } });
  }

  /** Which of `ids` are documents of the kb. */
  async documentIdsInKb(kbId: string, ids: string[]): Promise<Set<string>> {
    const rows = await this.prisma.document.findMany({ where: { kbId, id: { in: ids } }, select: { id: true } });
    return new Set(rows.map((r) => r.id));
  }

  findDocumentByPath(kbId: string, sourcePath: string): Promise<Document | null> {
    return this.prisma.document.findFirst({ where: { kbId, sourcePath }, orderBy: { updatedAt: 'desc' } });
  }

  async findDocumentsPage(kbId: string, page: number, pageSize: number): Promise<{ documents: Document[]; total: number }> {
    const [documents, total] = await Promise.all([
      this.prisma.document.findMany({ where: { kbId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], skip: (page - 1) * pageSize, take: pageSize }),
      this.prisma.document.count({ where: { kbId } }),
    ]);
    return { documents, total };
  }

  findChunks(documentId: string) {
    return this.prisma.chunk.findMany({
      where: { documentId },
      orderBy: { chunkIndex: 'asc' },
      select: { id: true, chunkIndex: true, content: true, startOffset: true, endOffset: true },
    });
  }

  /** Replaces the document's chunks (and with them their embeddings and vectors) in one transaction. */
  async replaceDocument(doc: DocumentUpsert, chunks: NewChunk[]): Promise<Document> {
    return this.prisma.$transaction(async (tx) => {
      const data = {
        kbId: doc.kbId,
        sourcePath: doc.sourcePath,
        format: doc.format,
        contentHash: doc.contentHash,
        characters: doc.characters,
        pages: doc.pages,
        chunkCount: chunks.length,
        chunkSize: doc.chunkSize,
        chunkOverlap: doc.chunkOverlap,
        metadata: doc.metadata === null ? Prisma.DbNull : (doc.metadata as Prisma.InputJsonValue),
        lastTaskId: doc.taskId,
        indexedAt: null,
        updatedAt: new Date(),
      };
      const saved = await tx.document.upsert({ where: { id: doc.id }, create: { id: doc.id, ...data }, update: data });
      await tx.vector.deleteMany({ where: { kbId: doc.kbId, documentId: doc.id } });
      await tx.chunk.deleteMany({ where: { documentId: doc.id } });
      if (chunks.length > 0) {
        await tx.$executeRaw`
          INSERT INTO chunks (document_id, kb_id, chunk_index, content, start_offset, end_offset, tsv)
          SELECT ${doc.id}::uuid, ${doc.kbId}, t.i, t.c, t.s, t.e, to_tsvector(${FTS_CONFIG}::regconfig, t.c)
          FROM unnest(${chunks.map((c) => c.index)}::int[], ${chunks.map((c) => c.content)}::text[],
                      ${chunks.map((c) => c.start)}::int[], ${chunks.map((c) => c.end)}::int[]) AS t(i, c, s, e)`;
      }
      return saved;
    });
  }

  /** Marks a document as (re)visited by a task without changing its content. */
  async touchDocument(id: string, taskId: string): Promise<void> {
    await this.prisma.document.update({ where: { id }, data: { lastTaskId: taskId, updatedAt: new Date() } });
  }

  /** Chunks of a document, of given ids, or of the whole kb that have no embedding for `model` yet. */
  chunksWithoutEmbedding(kbId: string, model: string, scope: { documentId?: string; chunkIds?: string[] }) {
    return this.prisma.chunk.findMany({
      where: {
        kbId,
        ...(scope.documentId ? { documentId: scope.documentId } : {}),
        ...(scope.chunkIds ? { id: { in: scope.chunkIds } } : {}),
        embeddings: { none: { model } },
      },
      orderBy: [{ documentId: 'asc' }, { chunkIndex: 'asc' }],
      select: { id: true, content: true },
    });
  }

  countChunks(kbId: string, scope: { documentId?: string; chunkIds?: string[] }): Promise<number> {
    return this.prisma.chunk.count({
      where: { kbId, ...(scope.documentId ? { documentId: scope.documentId } : {}), ...(scope.chunkIds ? { id: { in: scope.chunkIds } } : {}) },
    });
  }

  async saveEmbeddings(model: string, rows: Array<{ chunkId: string; values: number[] }>): Promise<void> {
    if (rows.length === 0) return;
    const dimension = rows[0].values.length;
    await this.prisma.$executeRaw`
      INSERT INTO embeddings (chunk_id, model, dimension, "values")
      SELECT t.id, ${model}, ${dimension}, f.flat[((t.n - 1) * ${dimension} + 1):(t.n * ${dimension})]
      FROM unnest(${rows.map((r) => r.chunkId)}::uuid[]) WITH ORDINALITY AS t(id, n),
           (SELECT ${flatten(rows.map((r) => r.values))}::real[] AS flat) f
      ON CONFLICT (chunk_id, model) DO UPDATE SET "values" = EXCLUDED."values", dimension = EXCLUDED.dimension`;
  }

  /** Embeddings of a document's chunks as vectors to store: id = chunk id. */
  async documentEmbeddings(documentId: string, model: string): Promise<VectorUpsert[]> {
    const rows = await this.prisma.embedding.findMany({
      where: { model, chunk: { documentId } },
      select: { chunkId: true, values: true, chunk: { select: { chunkIndex: true } } },
      orderBy: { chunk: { chunkIndex: 'asc' } },
    });
    return rows.map((r) => ({
      id: r.chunkId,
      chunkId: r.chunkId,
      documentId,
      model,
      values: r.values,
      metadata: { document_id: documentId, chunk_index: r.chunk.chunkIndex },
    }));
  }

  knowledgeBase(kbId: string) {
    return this.prisma.knowledgeBase.findUnique({ where: { kbId } });
  }

  /**
   * Fixes the kb's dimension (and model) on its first vectors, atomically, and returns the
   * settings in force — which the caller compares with what it is about to store.
   */
  async claimKnowledgeBase(kbId: string, dimension: number, model: string | null) {
    await this.prisma.$executeRaw`
      INSERT INTO knowledge_bases (kb_id, dimension, model) VALUES (${kbId}, ${dimension}, ${model})
      ON CONFLICT (kb_id) DO UPDATE SET dimension = COALESCE(knowledge_bases.dimension, EXCLUDED.dimension),
                                        model = COALESCE(knowledge_bases.model, EXCLUDED.model)`;
    return this.prisma.knowledgeBase.findUniqueOrThrow({ where: { kbId } });
  }

  /**
   * Upserts vectors into `vectors`. With `pgvector`, the same values also go to the `embedding`
   * column that the pgvector backend adds at start-up; the float array is kept either way, so
   * the kb stays searchable if the service later runs without the extension.
   */
  async upsertVectors(kbId: string, vectors: VectorUpsert[], { pgvector = false } = {}): Promise<number> {
    if (vectors.length === 0) return 0;
    const dimension = vectors[0].values.length;
    const slice = Prisma.sql`f.flat[((t.n - 1) * ${dimension} + 1):(t.n * ${dimension})]`;
    const embeddingColumn = pgvector ? Prisma.sql`, embedding` : Prisma.empty;
    const embeddingValue = pgvector ? Prisma.sql`, (${slice})::vector` : Prisma.empty;
    const embeddingUpdate = pgvector ? Prisma.sql`, embedding = EXCLUDED.embedding` : Prisma.empty;
    return this.prisma.$executeRaw`
      INSERT INTO vectors (kb_id, id, chunk_id, document_id, model, dimension, "values", metadata, updated_at ${embeddingColumn})
      SELECT ${kbId}, t.id, t.chunk_id, t.document_id, t.model, ${dimension},
             ${slice},
             f.meta -> (t.n - 1)::int, now() ${embeddingValue}
      FROM (SELECT ${flatten(vectors.map((v) => v.values))}::real[] AS flat,
                   ${JSON.stringify(vectors.map((v) => v.metadata))}::jsonb AS meta) f,
           unnest(${vectors.map((v) => v.id)}::text[], ${vectors.map((v) => v.chunkId)}::uuid[],
                  ${vectors.map((v) => v.documentId)}::uuid[], ${vectors.map((v) => v.model)}::text[])
           WITH ORDINALITY AS t(id, chunk_id, document_id, model, n)
      ON CONFLICT (kb_id, id) DO UPDATE SET chunk_id = EXCLUDED.chunk_id, document_id = EXCLUDED.document_id,
        model = EXCLUDED.model, dimension = EXCLUDED.dimension, "values" = EXCLUDED."values",
        metadata = EXCLUDED.metadata, updated_at = now() ${embeddingUpdate}`;
  }

  /** Recomputes the full-text vectors of a kb's chunks (or some documents') and refreshes planner statistics. */
  async rebuildFullText(kbId: string, documentIds?: string[]): Promise<number> {
    const scope = documentIds ? Prisma.sql`AND document_id = ANY(${documentIds}::uuid[])` : Prisma.empty;
    const updated = await this.prisma.$executeRaw`
      UPDATE chunks SET tsv = to_tsvector(${FTS_CONFIG}::regconfig, content) WHERE kb_id = ${kbId} ${scope}`;
    await this.prisma.$executeRawUnsafe('ANALYZE chunks');
    await this.prisma.$executeRawUnsafe('ANALYZE vectors');
    return updated;
  }

  async markIndexed(kbId: string, documentIds?: string[]): Promise<void> {
    const now = new Date();
    await this.prisma.document.updateMany({ where: { kbId, ...(documentIds ? { id: { in: documentIds } } : {}) }, data: { indexedAt: now } });
    await this.prisma.knowledgeBase.upsert({ where: { kbId }, create: { kbId, indexedAt: now }, update: { indexedAt: now } });
  }

  async counts(kbId: string, documentIds?: string[]): Promise<{ documents: number; chunks: number; vectors: number }> {
    const inScope = documentIds ? { documentId: { in: documentIds } } : {};
    const [documents, chunks, vectors] = await Promise.all([
      this.prisma.document.count({ where: { kbId, ...(documentIds ? { id: { in: documentIds } } : {}) } }),
      this.prisma.chunk.count({ where: { kbId, ...inScope } }),
      this.prisma.vector.count({ where: { kbId, ...inScope } }),
    ]);
    return { documents, chunks, vectors };
  }

  fullTextSearch(kbId: string, query: string, limit: number): Promise<ChunkHit[]> {
    return this.prisma.$queryRaw<ChunkHit[]>`
      SELECT c.id AS chunk_id, c.document_id, c.chunk_index, c.content, d.source_path,
             ts_rank_cd(c.tsv, q)::float8 AS score
      FROM chunks c
      JOIN documents d ON d.id = c.document_id,
           websearch_to_tsquery(${FTS_CONFIG}::regconfig, ${query}) q
      WHERE c.kb_id = ${kbId} AND c.tsv @@ q
      ORDER BY score DESC, c.document_id, c.chunk_index
      LIMIT ${limit}`;
  }
}
