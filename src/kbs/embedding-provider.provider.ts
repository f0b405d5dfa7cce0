import { Provider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../config/app.config';
import { EmbeddingProviderKind } from '../config/env.validation';
import type { EmbeddingProvider } from '../pipeline/embedding/embedding-provider';
import { HashingEmbedder } from '../pipeline/embedding/hashing-embedder';
import { OpenAiCompatibleEmbedder } from '../pipeline/embedding/openai-compatible-embedder';

/** The configured embedding model: the local hashing embedder, or an OpenAI-compatible server. */
export const EMBEDDING_PROVIDER = Symbol('EMBEDDING_PROVIDER');

export const embeddingProviderProvider: Provider = {
  provide: EMBEDDING_PROVIDER,
  inject: [ConfigService],
  useFactory: (config: ConfigService<AllConfig, true>): EmbeddingProvider => {
    const e = config.getOrThrow('pipeline.embedding', { infer: true });
    return e.provider === EmbeddingProviderKind.OpenAi
      ? new OpenAiCompatibleEmbedder({
          baseUrl: e.baseUrl,
          model: e.model,
          dimension: e.dimension,
          apiKey: e.apiKey || undefined,
          batchSize: e.batchSize,
        })
      : new HashingEmbedder({ dimension: e.dimension });
  },
};
