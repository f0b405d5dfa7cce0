import { Provider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../config/app.config';
import { EmbeddingProviderKind } from '../config/env.validation';
import type { EmbeddingProvider } from '../pipeline/embedding/embedding-provider';
import { HashingEmbedder } from '../pipeline/embedding/hashing-embedder';
import { OpenAiCompatibleEmbedder } from '../pipeline/embedding/openai-compatible-embedder';
import {
  EMBEDDING_RATE_LIMIT_OBSERVER,
  ProviderRateLimiter,
  type RateLimitObserver,
} from '../provider-limits/provider-rate-limiter';
import { RedisRequestBudget } from '../provider-limits/redis-request-budget';
import type { RedisClient } from '../queues/redis-connection';
import { REDIS_CLIENT } from '../queues/redis.provider';

/** The configured embedding model: the local hashing embedder, or an OpenAI-compatible server. */
export const EMBEDDING_PROVIDER = Symbol('EMBEDDING_PROVIDER');

/** The provider's limits are per minute, as providers state them. */
const PROVIDER_WINDOW_MS = 60_000;

export const embeddingProviderProvider: Provider = {
  provide: EMBEDDING_PROVIDER,
  inject: [ConfigService, REDIS_CLIENT, { token: EMBEDDING_RATE_LIMIT_OBSERVER, optional: true }],
  useFactory: (
    config: ConfigService<AllConfig, true>,
    redis: RedisClient,
    observer: RateLimitObserver | undefined,
  ): EmbeddingProvider => {
    const e = config.getOrThrow('pipeline.embedding', { infer: true });
    if (e.provider !== EmbeddingProviderKind.OpenAi) return new HashingEmbedder({ dimension: e.dimension });
    const limits = { windowMs: PROVIDER_WINDOW_MS, maxRequests: e.requestsPerMinute, maxTokens: e.tokensPerMinute };
    // One budget for every process sharing QUEUE_PREFIX, i.e. the same deployment and API key.
    const shared = new RedisRequestBudget(
      redis,
      config.getOrThrow('queue.prefix', { infer: true }),
      'embedding-budget',
      limits,
    );
    return new OpenAiCompatibleEmbedder({
      baseUrl: e.baseUrl,
      model: e.model,
      dimension: e.dimension,
      apiKey: e.apiKey || undefined,
      batchSize: e.batchSize,
      limiter: new ProviderRateLimiter({ limits, shared, observer, name: 'EmbeddingLimits' }),
      maxThrottleWaitMs: e.maxThrottleWaitMs,
    });
  },
};
