import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Client } from 'pg';
import type { AllConfig } from '../config/app.config';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { KnowledgeBaseRepository, VectorUpsert } from './knowledge-base.repository';
import type { VectorBackend, VectorHit, VectorIndexReport } from './vector-backend';

/** pgvector indexes `vector` values of at most 2,000 dimensions; a wider kb is searched exactly (same operator, no index). */
export const HNSW_MAX_DIMENSION = 2000;

/**
 * pgvector's default ef_search (40) also caps how many rows an HNSW scan can return, so a
 * search for 50 would silently get 40. Twice the limit keeps recall up; 1000 is pgvector's maximum.
 */
export function efSearchFor(limit: number): number {
  return Math.min(1000, Math.max(40, 2 * limit));
}

/**
 * The kb's HNSW index name: a hash, since kb ids may be longer than an identifier (63 bytes)
 * or hold characters an identifier cannot; the dimension is part of the cast it indexes.
 */
export function hnswIndexName(kbId: string, dimension: number): string {
  return `vectors_hnsw_${createHash('sha256').update(kbId).digest('hex').slice(0, 16)}_${dimension}`;
}

/** The `vector` extension in this database: the installed version, and the version PostgreSQL could install. */
export interface VectorExtensionState {
  installed: string | null;
  available: string | null;
}

/** A string as an SQL literal; DDL cannot take bound parameters, and the index predicate must be a constant. */
function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * The pgvector store. Vectors stay in `vectors` — the float array too, so switching back
 * loses nothing — plus an untyped `vector` column `embedding` that start-up adds. Kbs differ
 * in dimension and an index needs one, so each kb gets a partial HNSW index over
 * `embedding::vector(<dim>)` for `kb_id = '<kb>'` (cosine operator class), and searches
 * order by `<=>` on that very expression with a LIMIT, which is what lets the planner use it.
 *
 * None of this is in the Prisma migrations, which must apply where the extension is absent
 * (docs/pipeline.md, "Not in the Prisma migrations"): the extension and the column are
 * created here, at start-up and only when this backend is chosen; the indexes per kb.
 */
@Injectable()
export class PgvectorVectorRepository implements VectorBackend {
  readonly backend = 'pgvector' as const;
  readonly search = 'hnsw_cosine' as const;
  /** For index builds, which need one session of their own (see rebuildIndex). */
  private readonly databaseUrl: string;

  constructor(
    private readonly prisma: PrismaService,
    private readonly kb: KnowledgeBaseRepository,
    config: ConfigService<AllConfig, true>,
  ) {
    this.databaseUrl = config.getOrThrow('database', { infer: true }).url;
  }

  async extensionState(): Promise<VectorExtensionState> {
    const [state] = await this.prisma.$queryRaw<VectorExtensionState[]>`
      SELECT (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS installed,
             (SELECT default_version FROM pg_available_extensions WHERE name = 'vector') AS available`;
    return state;
  }

  /** Needs a role allowed to create it; whether to try is the caller's decision (VECTOR_STORE). */
  async createExtension(): Promise<void> {
    await this.prisma.$executeRawUnsafe('CREATE EXTENSION IF NOT EXISTS vector');
  }

  /**
   * Start-up DDL, idempotent and cheap once done: the catalogue is read first so that a
   * restart does not queue an ACCESS EXCLUSIVE lock on `vectors` behind running searches.
   * When the column is new, the vectors stored so far are copied into it once; rows written
   * later without it (by a process running the float backend) are filled in by knowledge_indexing.
   */
  async ensureEmbeddingColumn(): Promise<{ columnAdded: boolean; backfilled: number }> {
    const [{ present }] = await this.prisma.$queryRaw<{ present: boolean }[]>`
      SELECT EXISTS (SELECT 1 FROM pg_attribute
                     WHERE attrelid = to_regclass('vectors') AND attname = 'embedding' AND NOT attisdropped) AS present`;
    if (present) return { columnAdded: false, backfilled: 0 };
    await this.prisma.$executeRawUnsafe('ALTER TABLE vectors ADD COLUMN IF NOT EXISTS embedding vector');
    const backfilled = await this.prisma.$executeRawUnsafe(
      'UPDATE vectors SET embedding = "values"::vector WHERE embedding IS NULL',
    );
    return { columnAdded: true, backfilled };
  }

  upsert(kbId: string, vectors: VectorUpsert[]): Promise<number> {
    return this.kb.upsertVectors(kbId, vectors, { pgvector: true });
  }

  /**
   * The search query alone (exported for EXPLAIN in tests). The inner query is the one the
   * HNSW index serves: `kb_id = $1` implies the partial index's predicate (node-postgres sends
   * unnamed statements, which PostgreSQL plans with the bound values), and it orders by the
   * indexed expression. Cosine distance is 1 − similarity, so the score matches the float backend's.
   */
  nearestQuery(kbId: string, model: string | null, dimension: number, query: number[], limit: number): Prisma.Sql {
    const vectorType = Prisma.raw(`vector(${Math.trunc(dimension)})`);
    const modelFilter = model === null ? Prisma.sql`v.model IS NULL` : Prisma.sql`v.model = ${model}`;
    return Prisma.sql`
      SELECT n.id AS vector_id, n.chunk_id, n.document_id, c.chunk_index, c.content, d.source_path,
             (1 - n.distance)::float8 AS score
      FROM (
        SELECT v.id, v.chunk_id, v.document_id, v.embedding::${vectorType} <=> ${query}::real[]::${vectorType} AS distance
        FROM vectors v
        WHERE v.kb_id = ${kbId} AND ${modelFilter} AND v.embedding IS NOT NULL
        ORDER BY distance
        LIMIT ${limit}
      ) n
      LEFT JOIN chunks c ON c.id = n.chunk_id AND c.kb_id = ${kbId}
      LEFT JOIN documents d ON d.id = n.document_id AND d.kb_id = ${kbId}
      WHERE n.distance <> 'NaN'
      ORDER BY n.distance`;
  }

  async nearest(
    kbId: string,
    model: string | null,
    dimension: number,
    query: number[],
    limit: number,
  ): Promise<VectorHit[]> {
    // SET LOCAL needs a transaction; it keeps the setting off the pooled connection afterwards.
    const [, hits] = await this.prisma.$transaction([
      this.prisma.$executeRawUnsafe(`SET LOCAL hnsw.ef_search = ${efSearchFor(limit)}`),
      this.prisma.$queryRaw<VectorHit[]>(this.nearestQuery(kbId, model, dimension, query, limit)),
    ]);
    return hits;
  }

  /**
   * Fills `embedding` where it is missing or differs from the float array, then makes sure the
   * kb's HNSW index exists and is valid, rebuilding it for a kb-wide run. Builds use
   * CONCURRENTLY so that writes to `vectors` (every kb's) go on meanwhile; that cannot run in a
   * transaction, so a per-kb advisory lock on a session of its own keeps two indexing tasks of
   * one kb from building the same index at once, and makes an invalid index found under it a
   * leftover of a build that died — safe to drop.
   */
  async rebuildIndex(kbId: string, dimension: number, documentIds?: string[]): Promise<VectorIndexReport> {
    const synced = await this.syncEmbeddings(kbId, documentIds);
    if (dimension > HNSW_MAX_DIMENSION) return { name: null, action: 'none', synced };
    const name = hnswIndexName(kbId, dimension);
    // The dedicated session ignores the search_path Prisma may set, so names are qualified with the table's schema.
    const [{ schema }] = await this.prisma.$queryRaw<{ schema: string }[]>`
      SELECT n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass('vectors')`;
    const client = new Client({ connectionString: this.databaseUrl });
    await client.connect();
    try {
      const qualified = (identifier: string) =>
        `${client.escapeIdentifier(schema)}.${client.escapeIdentifier(identifier)}`;
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [`vectors_hnsw:${kbId}`]);
      // The index and, after a REINDEX CONCURRENTLY that died, its `<name>_ccnew` leftovers.
      const { rows } = await client.query<{ relname: string; valid: boolean }>(
        `SELECT c.relname, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE i.indrelid = $1::regclass AND c.relname LIKE $2`,
        [qualified('vectors'), `${name}%`],
      );
      for (const { relname } of rows.filter((row) => !row.valid))
        await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${qualified(relname)}`);
      const exists = rows.some((row) => row.relname === name && row.valid);
      if (exists && documentIds) return { name, action: 'kept', synced };
      if (exists) {
        await client.query(`REINDEX INDEX CONCURRENTLY ${qualified(name)}`);
        return { name, action: 'rebuilt', synced };
      }
      await client.query(
        `CREATE INDEX CONCURRENTLY IF NOT EXISTS ${client.escapeIdentifier(name)} ON ${qualified('vectors')}
         USING hnsw ((embedding::vector(${Math.trunc(dimension)})) vector_cosine_ops) WHERE kb_id = ${literal(kbId)}`,
      );
      return { name, action: 'created', synced };
    } finally {
      // Ending the session releases the advisory lock too.
      await client.end();
    }
  }

  private syncEmbeddings(kbId: string, documentIds?: string[]): Promise<number> {
    const scope = documentIds ? Prisma.sql`AND document_id = ANY(${documentIds}::uuid[])` : Prisma.empty;
    return this.prisma.$executeRaw`
      UPDATE vectors SET embedding = "values"::vector
      WHERE kb_id = ${kbId} ${scope} AND embedding IS DISTINCT FROM "values"::vector`;
  }
}
