import { Injectable } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client';
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

/** A stored document: its file, how it was chunked, and which generation of its chunks is current. */
export interface StoredDocument {
  id: string;
  kbId: string;
  sourcePath: string;
  format: string;
  contentHash: string;
  characters: number;
  pages: number | null;
  chunkCount: number;
  chunkSize: number;
  chunkOverlap: number;
  metadata: unknown;
  lastTaskId: string | null;
  indexedAt: Date | null;
  generation: bigint;
  createdAt: Date;
  updatedAt: Date;
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

/** Which chunks of a kb a stage works on: one document's, given ids, or (neither) all. */
export interface ChunkScope {
  documentId?: string;
  documentIds?: string[];
  chunkIds?: string[];
}

function chunkScope({ documentId, documentIds, chunkIds }: ChunkScope): Prisma.Sql {
  return Prisma.sql`${documentId ? Prisma.sql`AND c.document_id = ${documentId}::uuid` : Prisma.empty}
    ${documentIds ? Prisma.sql`AND c.document_id = ANY(${documentIds}::uuid[])` : Prisma.empty}
    ${chunkIds ? Prisma.sql`AND c.id = ANY(${chunkIds}::uuid[])` : Prisma.empty}`;
}

/** Vectors of one dimension as one flat array, sliced back per row in SQL (one bound parameter, not thousands). */
function flatten(vectors: number[][]): number[] {
  const flat: number[] = [];
  for (const vector of vectors) for (const value of vector) flat.push(value);
  return flat;
}

/**
 * Chunks per INSERT: about 1 MB of text at the default chunk size, so each statement
 * stays well under a second even for a document near MAX_FILE_BYTES.
 */
const CHUNK_INSERT_BATCH = 1000;

/**
 * Documents, chunks, embeddings and vectors of knowledge bases. Bulk writes are statements
 * over arrays (unnest), so a batch of thousands of rows is one round trip. Every read of
 * chunks is by kb and keeps to the current generation of their document (see replaceDocument).
 */
@Injectable()
export class KnowledgeBaseRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The document, if it is one of the kb's: every lookup is by kb, so no kb reaches another's content by id. */
  findDocument(kbId: string, id: string): Promise<StoredDocument | null> {
    return this.prisma.document.findFirst({ where: { id, kbId } });
  }

  /** Whether `id` is already a document of some other kb (an id given by a caller cannot be taken over). */
  async isDocumentIdTaken(kbId: string, id: string): Promise<boolean> {
    return (await this.prisma.document.count({ where: { id, kbId: { not: kbId } } })) > 0;
  }

  /** Which of `ids` are documents of the kb. */
  async documentIdsInKb(kbId: string, ids: string[]): Promise<Set<string>> {
    const rows = await this.prisma.document.findMany({ where: { kbId, id: { in: ids } }, select: { id: true } });
    return new Set(rows.map((r) => r.id));
  }

  findDocumentByPath(kbId: string, sourcePath: string): Promise<StoredDocument | null> {
    return this.prisma.document.findFirst({ where: { kbId, sourcePath }, orderBy: { updatedAt: 'desc' } });
  }

  async findDocumentsPage(
    kbId: string,
    page: number,
    pageSize: number,
  ): Promise<{ documents: StoredDocument[]; total: number }> {
    const [documents, total] = await Promise.all([
      this.prisma.document.findMany({
        where: { kbId },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        skip: (page - 1) * pageSize,
        take: pageSize,
      }),
      this.prisma.document.count({ where: { kbId } }),
    ]);
    return { documents, total };
  }

  /** The current chunks of a document found with `findDocument`. */
  findChunks(document: Pick<StoredDocument, 'id' | 'kbId' | 'generation'>) {
    return this.prisma.chunk.findMany({
      where: { documentId: document.id, kbId: document.kbId, generation: document.generation },
      orderBy: { chunkIndex: 'asc' },
      select: { id: true, chunkIndex: true, content: true, startOffset: true, endOffset: true },
    });
  }

  /**
   * Stores a document with new chunks, replacing its old ones (and with them their
   * embeddings and vectors), without a long transaction: the chunks go in under a new
   * generation, in INSERTs of CHUNK_INSERT_BATCH rows that each commit on their own and are
   * invisible to readers (every read of chunks matches its document's generation); then
   * one short transaction makes that generation current and drops the document's vectors,
   * and the superseded chunks are deleted. A reader sees the old chunks or the new, never a
   * mix. When two tasks store the same document at once, the later generation wins and the
   * other's chunks are discarded. A new document's row exists (empty) while its first
   * chunks are written (see claimDocumentId). Returns the document as it then stands, or
   * null when the id belongs to another kb.
   */
  async replaceDocument(
    doc: DocumentUpsert,
    chunks: NewChunk[],
    { signal, onBatch }: { signal?: AbortSignal; onBatch?: (stored: number) => Promise<void> } = {},
  ): Promise<StoredDocument | null> {
    if (!(await this.claimDocumentId(doc))) return null;
    const [{ generation }] = await this.prisma.$queryRaw<
      { generation: bigint }[]
    >`SELECT nextval('chunk_generation_seq') AS generation`;
    try {
      for (let start = 0; start < chunks.length; start += CHUNK_INSERT_BATCH) {
        signal?.throwIfAborted();
        await this.insertChunks(doc, generation, chunks.slice(start, start + CHUNK_INSERT_BATCH));
        await onBatch?.(Math.min(start + CHUNK_INSERT_BATCH, chunks.length));
      }
    } catch (error) {
      await this.discardGeneration(doc.id, generation).catch(() => undefined);
      throw error;
    }
    const metadata = doc.metadata === null ? null : JSON.stringify(doc.metadata);
    const [published] = await this.prisma.$transaction([
      this.prisma.$executeRaw`
        INSERT INTO documents (id, kb_id, source_path, format, content_hash, characters, pages, chunk_count, chunk_size,
                               chunk_overlap, metadata, last_task_id, indexed_at, generation, updated_at)
        VALUES (${doc.id}::uuid, ${doc.kbId}, ${doc.sourcePath}, ${doc.format}, ${doc.contentHash}, ${doc.characters}, ${doc.pages},
                ${chunks.length}, ${doc.chunkSize}, ${doc.chunkOverlap}, ${metadata}::jsonb, ${doc.taskId}::uuid, NULL, ${generation}, now())
        ON CONFLICT (id) DO UPDATE SET source_path = EXCLUDED.source_path, format = EXCLUDED.format,
          content_hash = EXCLUDED.content_hash, characters = EXCLUDED.characters, pages = EXCLUDED.pages,
          chunk_count = EXCLUDED.chunk_count, chunk_size = EXCLUDED.chunk_size, chunk_overlap = EXCLUDED.chunk_overlap,
          metadata = EXCLUDED.metadata, last_task_id = EXCLUDED.last_task_id, indexed_at = NULL,
          generation = EXCLUDED.generation, updated_at = now()
        WHERE documents.kb_id = EXCLUDED.kb_id AND documents.generation < EXCLUDED.generation`,
      this.prisma.$executeRaw`
        DELETE FROM vectors WHERE kb_id = ${doc.kbId} AND document_id = ${doc.id}::uuid
          AND EXISTS (SELECT 1 FROM documents d WHERE d.id = ${doc.id}::uuid AND d.kb_id = ${doc.kbId} AND d.generation = ${generation})`,
    ]);
    // Invisible from here on either way: older generations, or this one if it lost.
    await this.prisma.$executeRaw`
      DELETE FROM chunks c WHERE c.document_id = ${doc.id}::uuid AND c.kb_id = ${doc.kbId}
        AND (c.generation < ${generation} OR (c.generation = ${generation} AND ${published === 0}))
        AND c.generation <> (SELECT d.generation FROM documents d WHERE d.id = ${doc.id}::uuid)`;
    return this.findDocument(doc.kbId, doc.id);
  }

  private async insertChunks(doc: DocumentUpsert, generation: bigint, chunks: NewChunk[]): Promise<void> {
    await this.prisma.$executeRaw`
      INSERT INTO chunks (document_id, kb_id, generation, chunk_index, content, start_offset, end_offset, tsv)
      SELECT ${doc.id}::uuid, ${doc.kbId}, ${generation}, t.i, t.c, t.s, t.e, to_tsvector(${FTS_CONFIG}::regconfig, t.c)
      FROM unnest(${chunks.map((c) => c.index)}::int[], ${chunks.map((c) => c.content)}::text[],
                  ${chunks.map((c) => c.start)}::int[], ${chunks.map((c) => c.end)}::int[]) AS t(i, c, s, e)`;
  }

  /**
   * Chunks reference their document, so a new document's row goes in first: generation 0,
   * which no chunk written here has, so it shows with no chunks until its first generation
   * is published; its empty content hash never passes for an unchanged file. False when
   * the id is another kb's.
   */
  private async claimDocumentId(doc: DocumentUpsert): Promise<boolean> {
    await this.prisma.$executeRaw`
      INSERT INTO documents (id, kb_id, source_path, format, content_hash, characters, pages, chunk_count, chunk_size,
                             chunk_overlap, last_task_id, generation)
      VALUES (${doc.id}::uuid, ${doc.kbId}, ${doc.sourcePath}, ${doc.format}, '', 0, NULL, 0, ${doc.chunkSize},
              ${doc.chunkOverlap}, ${doc.taskId}::uuid, 0)
      ON CONFLICT (id) DO NOTHING`;
    return (await this.findDocument(doc.kbId, doc.id)) !== null;
  }

  /**
   * A write that failed half-way: its chunks go. A new document's empty row stays (another
   * task may be writing chunks under it); the retry fills it in.
   */
  private async discardGeneration(documentId: string, generation: bigint): Promise<void> {
    await this.prisma
      .$executeRaw`DELETE FROM chunks WHERE document_id = ${documentId}::uuid AND generation = ${generation}`;
  }

  /** Marks a document as (re)visited by a task without changing its content. */
  async touchDocument(id: string, taskId: string): Promise<void> {
    await this.prisma.document.update({ where: { id }, data: { lastTaskId: taskId, updatedAt: new Date() } });
  }

  /** Current chunks of a document, of given ids, or of the whole kb that have no embedding for `model` yet. */
  chunksWithoutEmbedding(kbId: string, model: string, scope: ChunkScope): Promise<{ id: string; content: string }[]> {
    return this.prisma.$queryRaw`
      SELECT c.id, c.content FROM chunks c
      JOIN documents d ON d.id = c.document_id AND d.kb_id = c.kb_id AND d.generation = c.generation
      WHERE c.kb_id = ${kbId} ${chunkScope(scope)}
        AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id AND e.model = ${model})
      ORDER BY c.document_id, c.chunk_index`;
  }

  /** Those of `chunkIds` that are not current chunks of the kb (another kb's, superseded, or unknown: one answer for all). */
  async chunksNotInKb(kbId: string, chunkIds: string[]): Promise<string[]> {
    if (chunkIds.length === 0) return [];
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT DISTINCT t.id::text AS id FROM unnest(${chunkIds}::uuid[]) AS t(id)
      WHERE NOT EXISTS (SELECT 1 FROM chunks c
                        JOIN documents d ON d.id = c.document_id AND d.kb_id = c.kb_id AND d.generation = c.generation
                        WHERE c.id = t.id AND c.kb_id = ${kbId})
      ORDER BY 1`;
    return rows.map((row) => row.id);
  }

  async countChunks(kbId: string, scope: ChunkScope): Promise<number> {
    const [{ count }] = await this.prisma.$queryRaw<{ count: number }[]>`
      SELECT count(*)::int AS count FROM chunks c
      JOIN documents d ON d.id = c.document_id AND d.kb_id = c.kb_id AND d.generation = c.generation
      WHERE c.kb_id = ${kbId} ${chunkScope(scope)}`;
    return count;
  }

  async saveEmbeddings(model: string, rows: { chunkId: string; values: number[] }[]): Promise<void> {
    if (rows.length === 0) return;
    const dimension = rows[0].values.length;
    await this.prisma.$executeRaw`
      INSERT INTO embeddings (chunk_id, model, dimension, "values")
      SELECT t.id, ${model}, ${dimension}, f.flat[((t.n - 1) * ${dimension} + 1):(t.n * ${dimension})]
      FROM unnest(${rows.map((r) => r.chunkId)}::uuid[]) WITH ORDINALITY AS t(id, n),
           (SELECT ${flatten(rows.map((r) => r.values))}::real[] AS flat) f
      ON CONFLICT (chunk_id, model) DO UPDATE SET "values" = EXCLUDED."values", dimension = EXCLUDED.dimension`;
  }

  /** Embeddings of the current chunks of a document found with `findDocument`, as vectors to store: id = chunk id. */
  async documentEmbeddings(
    document: Pick<StoredDocument, 'id' | 'kbId' | 'generation'>,
    model: string,
  ): Promise<VectorUpsert[]> {
    const documentId = document.id;
    const rows = await this.prisma.embedding.findMany({
      where: { model, chunk: { documentId, kbId: document.kbId, generation: document.generation } },
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

  /** The dimension the kb's first vectors fixed; null while it has none. */
  async dimensionOf(kbId: string): Promise<number | null> {
    return (
      (await this.prisma.knowledgeBase.findUnique({ where: { kbId }, select: { dimension: true } }))?.dimension ?? null
    );
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

  /** Recomputes the full-text vectors of a kb's current chunks (or some documents') and refreshes planner statistics. */
  async rebuildFullText(kbId: string, documentIds?: string[]): Promise<number> {
    const scope = documentIds ? Prisma.sql`AND c.document_id = ANY(${documentIds}::uuid[])` : Prisma.empty;
    const updated = await this.prisma.$executeRaw`
      UPDATE chunks c SET tsv = to_tsvector(${FTS_CONFIG}::regconfig, c.content)
      FROM documents d
      WHERE c.kb_id = ${kbId} ${scope} AND d.id = c.document_id AND d.kb_id = c.kb_id AND d.generation = c.generation`;
    await this.prisma.$executeRawUnsafe('ANALYZE chunks');
    await this.prisma.$executeRawUnsafe('ANALYZE vectors');
    return updated;
  }

  async markIndexed(kbId: string, documentIds?: string[]): Promise<void> {
    const now = new Date();
    await this.prisma.document.updateMany({
      where: { kbId, ...(documentIds ? { id: { in: documentIds } } : {}) },
      data: { indexedAt: now },
    });
    await this.prisma.knowledgeBase.upsert({
      where: { kbId },
      create: { kbId, indexedAt: now },
      update: { indexedAt: now },
    });
  }

  async counts(kbId: string, documentIds?: string[]): Promise<{ documents: number; chunks: number; vectors: number }> {
    const inScope = documentIds ? { documentId: { in: documentIds } } : {};
    const [documents, chunks, vectors] = await Promise.all([
      this.prisma.document.count({ where: { kbId, ...(documentIds ? { id: { in: documentIds } } : {}) } }),
      this.countChunks(kbId, { documentIds }),
      this.prisma.vector.count({ where: { kbId, ...inScope } }),
    ]);
    return { documents, chunks, vectors };
  }

  fullTextSearch(kbId: string, query: string, limit: number): Promise<ChunkHit[]> {
    return this.prisma.$queryRaw<ChunkHit[]>`
      SELECT c.id AS chunk_id, c.document_id, c.chunk_index, c.content, d.source_path,
             ts_rank_cd(c.tsv, q)::float8 AS score
      FROM chunks c
      JOIN documents d ON d.id = c.document_id AND d.kb_id = c.kb_id AND d.generation = c.generation,
           websearch_to_tsquery(${FTS_CONFIG}::regconfig, ${query}) q
      WHERE c.kb_id = ${kbId} AND c.tsv @@ q
      ORDER BY score DESC, c.document_id, c.chunk_index
      LIMIT ${limit}`;
  }
}
