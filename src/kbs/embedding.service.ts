import { Inject, Injectable } from '@nestjs/common';
import { ServiceUnavailableError } from '../common/errors/domain.error';
import { errorMessage } from '../common/errors/error-message';
import { PermanentTaskError } from '../common/errors/task-errors';
import { describeIds } from '../common/utils/describe-ids';
import { countOf } from '../common/utils/plural';
import { EmbeddingError, type EmbeddingProvider } from '../pipeline/embedding/embedding-provider';
import type { PayloadOf } from '../task-types/task-type-registry';
import type { TaskType } from '../task-types/task-types';
import { EMBEDDING_PROVIDER } from './embedding-provider.provider';
import { KnowledgeBaseRepository } from './knowledge-base.repository';

/** How long a vector or hybrid search waits for its query's embedding, throttling included. */
const QUERY_EMBEDDING_DEADLINE_MS = 10_000;
const QUERY_RETRY_AFTER_SECONDS = 5;

export interface EmbeddingResult {
  model: string;
  dimension: number;
  /** Chunks in scope. */
  chunks: number;
  /** Chunks embedded by this task. */
  embedded: number;
  /** Chunks that already had an embedding for this model. */
  already_embedded: number;
  document_id: string | null;
}

export interface StageContext {
  kbId: string;
  signal: AbortSignal;
  reportProgress(progress: number, message?: string): Promise<void>;
}

/** embedding_generation over stored chunks: embeds, batch by batch, every chunk in scope that has no embedding for the model yet. */
@Injectable()
export class EmbeddingService {
  constructor(
    private readonly kb: KnowledgeBaseRepository,
    @Inject(EMBEDDING_PROVIDER) readonly provider: EmbeddingProvider,
  ) {}

  async embedChunks(
    payload: PayloadOf<typeof TaskType.embedding_generation>,
    ctx: StageContext,
  ): Promise<EmbeddingResult> {
    const { provider } = this;
    this.requireModel(payload.model);
    if (payload.document_id) await this.requireDocument(payload.document_id, ctx.kbId);
    const foreign = payload.chunk_ids ? await this.kb.chunksNotInKb(ctx.kbId, payload.chunk_ids) : [];
    if (foreign.length > 0)
      throw new PermanentTaskError(`Chunks not found in knowledge base ${ctx.kbId}: ${describeIds(foreign)}`);
    const scope = { documentId: payload.document_id, chunkIds: payload.chunk_ids };
    const [total, pending] = await Promise.all([
      this.kb.countChunks(ctx.kbId, scope),
      this.kb.chunksWithoutEmbedding(ctx.kbId, provider.model, scope),
    ]);
    const batchSize = payload.batch_size ?? 64;
    for (let start = 0; start < pending.length; start += batchSize) {
      ctx.signal.throwIfAborted();
      const batch = pending.slice(start, start + batchSize);
      const vectors = await this.embedBatch(
        batch.map((c) => c.content),
        ctx.signal,
      );
      await this.kb.saveEmbeddings(
        provider.model,
        batch.map((c, i) => ({ chunkId: c.id, values: vectors[i] })),
      );
      const done = Math.min(start + batchSize, pending.length);
      await ctx.reportProgress(
        (done / pending.length) * 100,
        `Embedded ${done} of ${countOf(pending.length, 'chunk')}`,
      );
    }
    return {
      model: provider.model,
      dimension: provider.dimension,
      chunks: total,
      embedded: pending.length,
      already_embedded: total - pending.length,
      document_id: payload.document_id ?? null,
    };
  }

  /** Vectors of texts given inline, in their order, `batchSize` texts per request to the model. */
  async embedTexts(texts: string[], batchSize: number, ctx: StageContext): Promise<number[][]> {
    const vectors: number[][] = [];
    for (let start = 0; start < texts.length; start += batchSize) {
      ctx.signal.throwIfAborted();
      vectors.push(...(await this.embedBatch(texts.slice(start, start + batchSize), ctx.signal)));
      const done = Math.min(start + batchSize, texts.length);
      await ctx.reportProgress((done / texts.length) * 100, `Embedded ${done} of ${countOf(texts.length, 'text')}`);
    }
    return vectors;
  }

  /** The query's vector for search, with the same model as the stored chunks. */
  /**
   * A search's query vector. An HTTP caller is waiting, so the provider (its shared rate
   * budget included) gets QUERY_EMBEDDING_DEADLINE_MS rather than a task's throttle bound, and
   * a provider that is throttled, down or too slow is a 503 the caller can retry, not a 500.
   */
  async embedQuery(text: string): Promise<number[]> {
    try {
      const [vector] = await this.provider.embed([text], AbortSignal.timeout(QUERY_EMBEDDING_DEADLINE_MS));
      return vector;
    } catch (error) {
      // AbortSignal.timeout rejects with a DOMException, which is not an Error in every realm.
      if (error instanceof EmbeddingError || (error as { name?: unknown } | null)?.name === 'TimeoutError') {
        throw new ServiceUnavailableError(
          `The embedding provider could not embed the query within ${QUERY_EMBEDDING_DEADLINE_MS / 1000} s: ${errorMessage(error)}`,
          { reason: error instanceof EmbeddingError ? error.code : 'EMBEDDING_TIMEOUT' },
          QUERY_RETRY_AFTER_SECONDS,
        );
      }
      throw error;
    }
  }

  /** A payload may name the model, as a check: it must be the configured one. */
  requireModel(model: string | undefined): void {
    if (model && model !== this.provider.model) {
      throw new PermanentTaskError(`Model ${model} is not configured; this service embeds with ${this.provider.model}`);
    }
  }

  /** A model error that a retry cannot fix (bad request, wrong key) fails the task at once. */
  private embedBatch(texts: string[], signal: AbortSignal): Promise<number[][]> {
    return this.provider.embed(texts, signal).catch((error: unknown) => {
      if (error instanceof EmbeddingError && !error.retryable) throw new PermanentTaskError(error.message);
      throw error;
    });
  }

  private async requireDocument(documentId: string, kbId: string): Promise<void> {
    const document = await this.kb.findDocument(kbId, documentId);
    if (!document) throw new PermanentTaskError(`Document ${documentId} not found in knowledge base ${kbId}`);
  }
}
