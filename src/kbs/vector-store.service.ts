import { createHash } from 'node:crypto';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service';
import { PermanentTaskError } from '../workers/task-errors';
import { EmbeddingService, StageContext } from './embedding.service';
import type { VectorStoragePayload } from './kb-payloads';
import { KnowledgeBaseRepository, VectorUpsert } from './knowledge-base.repository';

export interface VectorStoreInfo {
  backend: 'float_array';
  search: 'exact_cosine';
  pgvector_installed: boolean;
}

export interface VectorStorageResult {
  stored: number;
  dimension: number;
  model: string | null;
  document_id: string | null;
  backend: VectorStoreInfo['backend'];
}

const UPSERT_BATCH = 1000;

/**
 * vector_storage: upserts vectors into the kb's vector store in PostgreSQL. Every vector
 * of a kb has the dimension fixed by its first vectors; others are refused. The store is a
 * float array per vector with exact cosine search; whether the pgvector extension is
 * installed is detected at start-up and reported by /health.
 */
@Injectable()
export class VectorStoreService implements OnModuleInit {
  private readonly logger = new Logger(VectorStoreService.name);
  private pgvectorInstalled = false;

  constructor(
    private readonly prisma: PrismaService,
    private readonly kb: KnowledgeBaseRepository,
    private readonly embeddings: EmbeddingService,
  ) {}

  async onModuleInit(): Promise<void> {
    try {
      const rows = await this.prisma.$queryRaw<Array<{ installed: boolean }>>`
        SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') AS installed`;
      this.pgvectorInstalled = rows[0]?.installed ?? false;
    } catch (error) {
      this.logger.warn(`Could not detect pgvector: ${(error as Error).message}`);
    }
  }

  info(): VectorStoreInfo {
    return { backend: 'float_array', search: 'exact_cosine', pgvector_installed: this.pgvectorInstalled };
  }

  async store(payload: VectorStoragePayload, ctx: StageContext): Promise<VectorStorageResult> {
    const vectors = payload.document_id ? await this.fromDocument(payload.document_id, payload.model, ctx.kbId) : this.fromPayload(payload);
    if (vectors.length === 0) throw new PermanentTaskError('No vectors to store');
    const dimension = vectors[0].values.length;
    if (vectors.some((v) => v.values.length !== dimension)) {
      throw new PermanentTaskError('All vectors of one request must have the same dimension');
    }
    const settings = await this.kb.claimKnowledgeBase(ctx.kbId, dimension, vectors[0].model);
    if (settings.dimension !== dimension) {
      throw new PermanentTaskError(`Knowledge base ${ctx.kbId} stores ${settings.dimension}-dimensional vectors; got ${dimension}`);
    }
    let stored = 0;
    for (let start = 0; start < vectors.length; start += UPSERT_BATCH) {
      ctx.signal.throwIfAborted();
      stored += await this.kb.upsertVectors(ctx.kbId, vectors.slice(start, start + UPSERT_BATCH));
      await ctx.reportProgress((Math.min(start + UPSERT_BATCH, vectors.length) / vectors.length) * 100, `Stored ${stored} vectors`);
    }
    return { stored, dimension, model: vectors[0].model, document_id: payload.document_id ?? null, backend: 'float_array' };
  }

  private async fromDocument(documentId: string, model: string | undefined, kbId: string): Promise<VectorUpsert[]> {
    const document = await this.kb.findDocument(documentId);
    if (!document || document.kbId !== kbId) throw new PermanentTaskError(`Document ${documentId} not found in knowledge base ${kbId}`);
    const useModel = model ?? this.embeddings.provider.model;
    const vectors = await this.kb.documentEmbeddings(documentId, useModel);
    if (vectors.length === 0 && document.chunkCount > 0) {
      throw new PermanentTaskError(`Document ${documentId} has no ${useModel} embeddings; run embedding_generation first`);
    }
    return vectors;
  }

  /** Caller-supplied vectors: an id is the given one, else the chunk's, else a hash of the values. */
  private fromPayload(payload: VectorStoragePayload): VectorUpsert[] {
    return (payload.vectors ?? []).map((v) => ({
      id: v.id ?? v.chunk_id ?? createHash('sha256').update(JSON.stringify(v.values)).digest('hex').slice(0, 32),
      chunkId: v.chunk_id ?? null,
      documentId: null,
      model: payload.model ?? null,
      values: v.values,
      metadata: v.metadata ?? null,
    }));
  }
}
