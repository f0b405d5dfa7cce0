import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { PayloadOf } from '../task-types/task-type-registry';
import type { TaskType } from '../task-types/task-types';
import { EmbeddingService, StageContext } from './embedding.service';
import type { VectorUpsert } from './knowledge-base.repository';
import type { VectorBackend } from './vector-backend';
import { VectorStoreService } from './vector-store.service';

export interface TextEmbeddingResult {
  model: string;
  dimension: number;
  /** Texts embedded. */
  embedded: number;
  /** The vectors, in the order of `texts`; null when they were stored instead. */
  vectors: number[][] | null;
  /** With `store: true`: where the vectors are — the kb's vector store, under these ids (in the order of `texts`). */
  stored: { kb_id: string; backend: VectorBackend['backend']; ids: string[] } | null;
}

/** Share of the progress taken by embedding when the vectors are stored afterwards. */
const EMBED_SHARE = 0.8;

/**
 * embedding_generation over texts given inline: embeds them with the configured model and
 * returns the vectors in the result, or with `store: true` upserts them into the kb's vector
 * store (the text kept as `metadata.text`) and returns their ids. The validator keeps an
 * inline result small enough for a task row (MAX_INLINE_RESULT_VALUES).
 */
@Injectable()
export class TextEmbeddingService {
  constructor(
    private readonly embeddings: EmbeddingService,
    private readonly vectors: VectorStoreService,
  ) {}

  async embed(
    payload: PayloadOf<typeof TaskType.embedding_generation> & { texts: string[] },
    ctx: StageContext,
  ): Promise<TextEmbeddingResult> {
    const { provider } = this.embeddings;
    this.embeddings.requireModel(payload.model);
    const share = payload.store ? EMBED_SHARE : 1;
    const values = await this.embeddings.embedTexts(payload.texts, payload.batch_size ?? 64, {
      ...ctx,
      reportProgress: (progress, message) => ctx.reportProgress(progress * share, message),
    });
    const base = { model: provider.model, dimension: provider.dimension, embedded: values.length };
    if (!payload.store) return { ...base, vectors: values, stored: null };

    const upserts: VectorUpsert[] = payload.texts.map((text, i) => ({
      id: payload.ids?.[i] ?? textVectorId(provider.model, text),
      chunkId: null,
      documentId: null,
      model: provider.model,
      values: values[i],
      metadata: { text, ...payload.metadatas?.[i] },
    }));
    const stored = await this.vectors.upsert(upserts, {
      ...ctx,
      reportProgress: (progress, message) =>
        ctx.reportProgress(EMBED_SHARE * 100 + progress * (1 - EMBED_SHARE), message),
    });
    return {
      ...base,
      vectors: null,
      stored: { kb_id: ctx.kbId, backend: stored.backend, ids: upserts.map((u) => u.id) },
    };
  }
}

/** The same text embedded by the same model gets the same id, so embedding it again updates rather than duplicates it. */
function textVectorId(model: string, text: string): string {
  return createHash('sha256').update(model).update('\0').update(text).digest('hex').slice(0, 32);
}
