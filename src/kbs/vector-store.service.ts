import { createHash } from 'node:crypto';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { PermanentTaskError } from '../common/errors/task-errors';
import { describeIds } from '../common/utils/describe-ids';
import { countOf } from '../common/utils/plural';
import type { AllConfig } from '../config/app.config';
import { VectorStoreMode } from '../config/env.validation';
import type { PayloadOf } from '../task-types/task-type-registry';
import type { TaskType } from '../task-types/task-types';
import { EmbeddingService, StageContext } from './embedding.service';
import { FloatArrayVectorRepository } from './float-array-vector.repository';
import { KnowledgeBaseRepository, VectorUpsert } from './knowledge-base.repository';
import { PgvectorVectorRepository, VectorExtensionState } from './pgvector-vector.repository';
import type { VectorBackend, VectorHit, VectorIndexReport } from './vector-backend';

/** What /health reports under details.vector_store. */
export interface VectorStoreInfo {
  /** `undetermined` only while PostgreSQL has not answered since start-up. */
  backend: VectorBackend['backend'] | 'undetermined';
  search: VectorBackend['search'] | null;
  /** VECTOR_STORE: auto, or the backend it forces. */
  mode: VectorStoreMode;
  /** Whether the `vector` extension is installed in the database, and its version. */
  pgvector_installed: boolean | null;
  pgvector_version: string | null;
  /** Whether PostgreSQL could install it (`CREATE EXTENSION vector`); auto mode does not. */
  pgvector_available: boolean | null;
}

export interface VectorStorageResult {
  stored: number;
  dimension: number;
  model: string | null;
  document_id: string | null;
  backend: VectorBackend['backend'];
}

/** VECTOR_STORE=pgvector on a database that cannot have the extension: start-up must stop, not fall back. */
class PgvectorUnavailableError extends Error {}

const UPSERT_BATCH = 1000;

/**
 * vector_storage: upserts vectors into the kb's vector store in PostgreSQL. Every vector
 * of a kb has the dimension fixed by its first vectors; others are refused.
 *
 * The store's backend is chosen at start-up: pgvector (HNSW, cosine) when the `vector`
 * extension is installed, else a float array per vector with exact cosine search. auto never
 * creates the extension, even when PostgreSQL has it available: installing one needs a
 * privilege the service should not hold and is the DBA's decision. VECTOR_STORE=pgvector is
 * that decision, so then the service creates it, and refuses to start if it cannot.
 */
@Injectable()
export class VectorStoreService implements OnModuleInit {
  private readonly logger = new Logger(VectorStoreService.name);
  private readonly mode: VectorStoreMode;
  private chosen: VectorBackend | null = null;
  private choosing: Promise<VectorBackend> | null = null;
  private extension: VectorExtensionState | null = null;

  constructor(
    private readonly floatArray: FloatArrayVectorRepository,
    private readonly pgvector: PgvectorVectorRepository,
    private readonly kb: KnowledgeBaseRepository,
    private readonly embeddings: EmbeddingService,
    config: ConfigService<AllConfig, true>,
  ) {
    this.mode = config.getOrThrow('pipeline', { infer: true }).vectorStore;
  }

  /**
   * Chooses the backend now. If PostgreSQL does not answer, the service still starts (the API
   * reports 503 meanwhile) and the choice is made on first use.
   */
  async onModuleInit(): Promise<void> {
    try {
      const backend = await this.backend();
      this.logger.log(`Vector store: ${backend.backend} (${backend.search})`);
    } catch (error) {
      if (error instanceof PgvectorUnavailableError) throw error;
      this.logger.warn(`Vector store backend not chosen yet, will retry on first use: ${(error as Error).message}`);
    }
  }

  /** The backend in use; chosen once per process, so every process must be restarted after installing pgvector. */
  backend(): Promise<VectorBackend> {
    if (this.chosen) return Promise.resolve(this.chosen);
    this.choosing ??= this.choose()
      .then((backend) => (this.chosen = backend))
      .finally(() => (this.choosing = null));
    return this.choosing;
  }

  async describe(): Promise<VectorStoreInfo> {
    const backend = await this.backend().catch(() => null);
    return {
      backend: backend?.backend ?? 'undetermined',
      search: backend?.search ?? null,
      mode: this.mode,
      pgvector_installed: this.extension ? this.extension.installed !== null : null,
      pgvector_version: this.extension?.installed ?? null,
      pgvector_available: this.extension ? this.extension.available !== null : null,
    };
  }

  async store(payload: PayloadOf<typeof TaskType.vector_storage>, ctx: StageContext): Promise<VectorStorageResult> {
    const vectors = payload.document_id
      ? await this.fromDocument(payload.document_id, payload.model, ctx)
      : await this.fromPayload(payload, ctx.kbId);
    return { ...(await this.upsert(vectors, ctx)), document_id: payload.document_id ?? null };
  }

  /**
   * Upserts vectors of one dimension into the kb's store, fixing the kb's dimension on its first
   * vectors. Vectors sharing an id are one vector: the last one given wins, as a later upsert would.
   */
  async upsert(given: VectorUpsert[], ctx: StageContext): Promise<Omit<VectorStorageResult, 'document_id'>> {
    const backend = await this.backend();
    const vectors = [...new Map(given.map((v) => [v.id, v])).values()];
    if (vectors.length === 0) throw new PermanentTaskError('No vectors to store');
    const dimension = vectors[0].values.length;
    if (vectors.some((v) => v.values.length !== dimension)) {
      throw new PermanentTaskError('All vectors of one request must have the same dimension');
    }
    const settings = await this.kb.claimKnowledgeBase(ctx.kbId, dimension, vectors[0].model);
    if (settings.dimension !== dimension) {
      throw new PermanentTaskError(
        `Knowledge base ${ctx.kbId} stores ${settings.dimension}-dimensional vectors; got ${dimension}`,
      );
    }
    let stored = 0;
    for (let start = 0; start < vectors.length; start += UPSERT_BATCH) {
      ctx.signal.throwIfAborted();
      stored += await backend.upsert(ctx.kbId, vectors.slice(start, start + UPSERT_BATCH));
      await ctx.reportProgress(
        (Math.min(start + UPSERT_BATCH, vectors.length) / vectors.length) * 100,
        `Stored ${countOf(stored, 'vector')}`,
      );
    }
    return { stored, dimension, model: vectors[0].model, backend: backend.backend };
  }

  /** The kb's vectors (of one model) nearest to `query` by cosine similarity, best first. */
  async nearest(
    kbId: string,
    model: string | null,
    dimension: number,
    query: number[],
    limit: number,
  ): Promise<VectorHit[]> {
    return (await this.backend()).nearest(kbId, model, dimension, query, limit);
  }

  /** knowledge_indexing's vector part; a kb without vectors yet has nothing to index. */
  async rebuildIndex(kbId: string, documentIds?: string[]): Promise<VectorIndexReport> {
    const backend = await this.backend();
    const kb = await this.kb.knowledgeBase(kbId);
    if (!kb?.dimension) return { name: null, action: 'none', synced: 0 };
    return backend.rebuildIndex(kbId, kb.dimension, documentIds);
  }

  private async choose(): Promise<VectorBackend> {
    this.extension = await this.pgvector.extensionState();
    if (this.mode === VectorStoreMode.FloatArray) return this.floatArray;
    if (!this.extension.installed) {
      if (this.mode === VectorStoreMode.Auto) return this.floatArray;
      await this.createExtension();
    }
    const prepared = await this.pgvector.ensureEmbeddingColumn();
    if (prepared.columnAdded)
      this.logger.log(`Added vectors.embedding; copied ${prepared.backfilled} stored vectors into it`);
    return this.pgvector;
  }

  private async createExtension(): Promise<void> {
    if (!this.extension?.available) {
      throw new PgvectorUnavailableError(
        'VECTOR_STORE=pgvector, but this PostgreSQL has no vector extension to install (see docs/pipeline.md, "Vector store")',
      );
    }
    try {
      await this.pgvector.createExtension();
    } catch (error) {
      // Another process may have created it at the same moment; only a still-missing extension is fatal.
      this.extension = await this.pgvector.extensionState();
      if (!this.extension.installed) {
        throw new PgvectorUnavailableError(
          `VECTOR_STORE=pgvector, but creating the vector extension failed: ${(error as Error).message}`,
        );
      }
    }
    this.extension = await this.pgvector.extensionState();
  }

  /**
   * The document's current chunks' embeddings. Chunks of the configured model that have none
   * are embedded first: a document reprocessed while its pipeline ran has a newer generation
   * of chunks by the time this stage reads, and that older pipeline must still end with the
   * document's current vectors stored rather than fail (found by an outside run).
   */
  private async fromDocument(
    documentId: string,
    model: string | undefined,
    ctx: StageContext,
  ): Promise<VectorUpsert[]> {
    const document = await this.kb.findDocument(ctx.kbId, documentId);
    if (!document) throw new PermanentTaskError(`Document ${documentId} not found in knowledge base ${ctx.kbId}`);
    const useModel = model ?? this.embeddings.provider.model;
    let vectors = await this.kb.documentEmbeddings(document, useModel);
    if (vectors.length < document.chunkCount && useModel === this.embeddings.provider.model) {
      await this.embeddings.embedChunks(
        { document_id: documentId },
        { ...ctx, reportProgress: (p, m) => ctx.reportProgress(p / 2, m) },
      );
      vectors = await this.kb.documentEmbeddings(
        (await this.kb.findDocument(ctx.kbId, documentId)) ?? document,
        useModel,
      );
    }
    if (vectors.length === 0 && document.chunkCount > 0) {
      throw new PermanentTaskError(
        `Document ${documentId} has no ${useModel} embeddings; run embedding_generation with that model first`,
      );
    }
    return vectors;
  }

  /**
   * Caller-supplied vectors, as objects or as number arrays with parallel ids / metadatas: an
   * id is the given one, else the chunk's, else a hash of the values. A chunk_id must be one
   * of the kb's chunks, or the kb's vector search would return another kb's text.
   */
  private async fromPayload(payload: PayloadOf<typeof TaskType.vector_storage>, kbId: string): Promise<VectorUpsert[]> {
    const chunkIds = (payload.vectors ?? []).flatMap((v) => (v.chunk_id ? [v.chunk_id] : []));
    const foreign = await this.kb.chunksNotInKb(kbId, chunkIds);
    if (foreign.length > 0)
      throw new PermanentTaskError(`Chunks not found in knowledge base ${kbId}: ${describeIds(foreign)}`);
    return (payload.vectors ?? []).map((v, i) => ({
      id:
        v.id ??
        payload.ids?.[i] ??
        v.chunk_id ??
        createHash('sha256').update(JSON.stringify(v.values)).digest('hex').slice(0, 32),
      chunkId: v.chunk_id ?? null,
      documentId: null,
      model: payload.model ?? null,
      values: v.values,
      metadata: v.metadata ?? payload.metadatas?.[i] ?? null,
    }));
  }
}
