import { sleep } from '../../provider-limits/abortable-sleep';
import {
  ProviderRateLimiter,
  RateLimitWaitExceededError,
  type Reservation,
} from '../../provider-limits/provider-rate-limiter';
import { parseRetryAfter, rateLimitPauseMs } from '../../provider-limits/rate-limit-headers';
import { estimateTokens } from '../../provider-limits/sliding-window';
import { EmbeddingError, type EmbeddingProvider } from './embedding-provider';

export interface OpenAiCompatibleEmbedderOptions {
  /** Server root, with or without a trailing `/v1` (both `http://host:8080` and `https://api.openai.com/v1` work). */
  baseUrl: string;
  model: string;
  /** Expected vector length; a server answering with another length is a configuration error. */
  dimension: number;
  /** Sent as `Authorization: Bearer …` when set; local servers usually need none. */
  apiKey?: string;
  /** Texts per request. Default 64. */
  batchSize?: number;
  /** Retries per request after the first attempt, for overload and network failures. Default 5. */
  maxRetries?: number;
  /** First backoff delay when the server gives no `Retry-After`; doubles per retry. Default 500 ms. */
  initialBackoffMs?: number;
  /**
   * Upper bound on any single wait after a failure (5xx, 408, network), including the
   * server's `Retry-After`. Default 60 s. A 429's reset is not cut short: maxThrottleWaitMs
   * bounds it instead.
   */
  maxRetryDelayMs?: number;
  /** Per-request timeout; a timed-out request is retried like a network failure. Default 60 s. */
  timeoutMs?: number;
  /**
   * The provider's request and token budget, shared by every process when it is backed by
   * Redis. Default: no limits of its own, held in this process (429s still pause its callers).
   */
  limiter?: ProviderRateLimiter;
  /** Longest a batch may wait for the rate limits (budget and 429 resets) before failing retryably. Default 5 min. */
  maxThrottleWaitMs?: number;
}

/** Statuses that mean "try again later" rather than "your request is wrong". */
const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

type Attempt =
  | { vectors: number[][]; usedTokens: number | undefined; pauseMs: number | undefined }
  | { retryAfterMs: number | undefined; failure: string; status?: number };

/**
 * Embeds through any server speaking OpenAI's `POST /v1/embeddings` (OpenAI, Azure-style
 * proxies, vLLM, Ollama, LocalAI, text-embeddings-inference), with plain `fetch` so no SDK
 * pins the Node version. Inputs are sent in batches, each admitted first by the provider's
 * rate limiter (requests and tokens per minute, shared by all processes through Redis); a
 * 429 pauses every caller until the provider's reset (`Retry-After`, `retry-after-ms` or
 * `x-ratelimit-reset-*`). Overload (503 and other 5xx, 408) and network failures are
 * retried, honouring `Retry-After` (seconds or HTTP date) and otherwise backing off
 * exponentially with jitter, so a struggling server is not hammered; other 4xx fail at once
 * with the server's own message, since repeating a bad request cannot help. Vectors are returned in input order (the response is sorted by
 * `index`) and checked against the configured dimension, because storing vectors of the
 * wrong length would corrupt search silently.
 */
export class OpenAiCompatibleEmbedder implements EmbeddingProvider {
  readonly name = 'openai-compatible';
  readonly model: string;
  readonly dimension: number;
  /** The full embeddings URL requests go to. */
  readonly endpoint: string;
  private readonly apiKey: string | undefined;
  private readonly batchSize: number;
  private readonly maxRetries: number;
  private readonly initialBackoffMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly timeoutMs: number;
  private readonly limiter: ProviderRateLimiter;
  private readonly maxThrottleWaitMs: number;

  constructor(options: OpenAiCompatibleEmbedderOptions) {
    this.endpoint = embeddingsEndpoint(options.baseUrl);
    this.model = options.model;
    this.dimension = options.dimension;
    this.apiKey = options.apiKey || undefined;
    this.batchSize = options.batchSize ?? 64;
    this.maxRetries = options.maxRetries ?? 5;
    this.initialBackoffMs = options.initialBackoffMs ?? 500;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 60_000;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.maxThrottleWaitMs = options.maxThrottleWaitMs ?? 300_000;
    this.limiter =
      options.limiter ?? new ProviderRateLimiter({ limits: { windowMs: 60_000, maxRequests: 0, maxTokens: 0 } });
    if (!this.model) throw new RangeError('model must not be empty');
    for (const [name, value, min] of [
      ['dimension', this.dimension, 1],
      ['batchSize', this.batchSize, 1],
      ['maxRetries', this.maxRetries, 0],
      ['initialBackoffMs', this.initialBackoffMs, 0],
      ['maxRetryDelayMs', this.maxRetryDelayMs, 0],
      ['timeoutMs', this.timeoutMs, 1],
      ['maxThrottleWaitMs', this.maxThrottleWaitMs, 0],
    ] as const) {
      if (!Number.isInteger(value) || value < min)
        throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
    }
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<number[][]> {
    signal?.throwIfAborted();
    const vectors: number[][] = [];
    for (let i = 0; i < texts.length; i += this.batchSize) {
      vectors.push(...(await this.embedBatch(texts.slice(i, i + this.batchSize), signal)));
    }
    return vectors;
  }

  /**
   * One batch until it succeeds, fails for good, or runs out of retries or throttle time.
   * Each request first takes its place in the provider budget. A 429 is not a failure of the
   * request but the budget being spent: it pauses every caller until the reset and uses up
   * no retry; only the throttle time (maxThrottleWaitMs) bounds it.
   */
  private async embedBatch(input: string[], signal: AbortSignal | undefined): Promise<number[][]> {
    const tokens = estimateTokens(input);
    const throttleDeadline = Date.now() + this.maxThrottleWaitMs;
    let failures = 0;
    let rateLimits = 0;
    for (;;) {
      const reservation = await this.admit(tokens, signal, throttleDeadline, rateLimits > 0);
      const outcome = await this.attempt(input, signal);
      if ('vectors' in outcome) {
        await this.afterSuccess(reservation, outcome);
        return outcome.vectors;
      }
      if (outcome.status === 429) {
        rateLimits++;
        await this.limiter.rateLimited(this.rateLimitPause(rateLimits, outcome.retryAfterMs));
        continue;
      }
      if (failures >= this.maxRetries) {
        throw new EmbeddingError(
          'EMBEDDING_RETRIES_EXHAUSTED',
          `Embedding server ${this.endpoint} still failing after ${failures + 1} attempts: ${outcome.failure}`,
          true,
          outcome.status,
        );
      }
      const delay = outcome.retryAfterMs ?? this.backoff(failures);
      failures++;
      await sleep(Math.min(delay, this.maxRetryDelayMs), signal);
    }
  }

  /** The batch's place in the provider budget, or a retryable failure when it would come too late. */
  private async admit(
    tokens: number,
    signal: AbortSignal | undefined,
    deadline: number,
    rateLimited: boolean,
  ): Promise<Reservation> {
    try {
      return await this.limiter.acquire(tokens, signal, deadline);
    } catch (error) {
      if (!(error instanceof RateLimitWaitExceededError)) throw error;
      throw new EmbeddingError(
        'EMBEDDING_RATE_LIMITED',
        `Embedding server ${this.endpoint} is rate limited: ${error.message} of ${this.maxThrottleWaitMs / 1000} s`,
        true,
        rateLimited ? 429 : undefined,
      );
    }
  }

  /** Charges the batch its real token count, and holds everyone back when the provider says its budget is spent. */
  private async afterSuccess(
    reservation: Reservation,
    outcome: { usedTokens: number | undefined; pauseMs: number | undefined },
  ): Promise<void> {
    if (outcome.usedTokens !== undefined) await this.limiter.settle(reservation, outcome.usedTokens);
    if (outcome.pauseMs) await this.limiter.pause(outcome.pauseMs);
  }

  /**
   * How long everyone holds off after the `count`-th 429 in a row: the provider's word the
   * first time; from the second on at least the growing backoff, so a provider answering
   * `Retry-After: 0` again and again is not hammered.
   */
  private rateLimitPause(count: number, told: number | undefined): number {
    if (told !== undefined && count === 1) return told;
    return Math.max(told ?? 0, Math.min(this.backoff(count - 1), this.maxRetryDelayMs));
  }

  /** Exponential backoff with jitter: half fixed, half random, doubling per step. */
  private backoff(step: number): number {
    const backoff = this.initialBackoffMs * 2 ** step;
    return backoff / 2 + Math.random() * (backoff / 2);
  }

  /** One HTTP round trip: vectors, a retryable failure, or a thrown fatal error. */
  private async attempt(input: string[], signal: AbortSignal | undefined): Promise<Attempt> {
    signal?.throwIfAborted();
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let response: Response;
    let body: string;
    try {
      response = await fetch(this.endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: this.model, input }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      body = await response.text();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const reason = timeout.aborted ? `no response within ${this.timeoutMs} ms` : describeNetworkError(error);
      return { retryAfterMs: undefined, failure: reason };
    }
    if (response.ok) {
      return {
        ...this.parseResponse(body, input.length),
        pauseMs: rateLimitPauseMs(response.status, response.headers),
      };
    }
    const failure = `HTTP ${response.status}: ${serverMessage(body, response.statusText)}`;
    if (RETRYABLE_STATUSES.has(response.status)) {
      const retryAfterMs =
        response.status === 429
          ? rateLimitPauseMs(429, response.headers)
          : parseRetryAfter(response.headers.get('retry-after'));
      return { retryAfterMs, failure, status: response.status };
    }
    throw new EmbeddingError(
      'EMBEDDING_REQUEST_FAILED',
      `Embedding request to ${this.endpoint} failed with ${failure}`,
      false,
      response.status,
    );
  }

  /** The vectors in input order, and the tokens the provider says the request cost (OpenAI's `usage`). */
  private parseResponse(body: string, expected: number): { vectors: number[][]; usedTokens: number | undefined } {
    const invalid = (detail: string) =>
      new EmbeddingError('EMBEDDING_INVALID_RESPONSE', `Invalid response from ${this.endpoint}: ${detail}`, false);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw invalid('body is not JSON');
    }
    const { data, usage } = (parsed ?? {}) as {
      data?: unknown;
      usage?: { prompt_tokens?: unknown; total_tokens?: unknown };
    };
    const reported = usage?.prompt_tokens ?? usage?.total_tokens;
    const usedTokens = Number.isInteger(reported) && (reported as number) >= 0 ? (reported as number) : undefined;
    if (!Array.isArray(data)) throw invalid('no "data" array');
    if (data.length !== expected) throw invalid(`expected ${expected} embeddings, got ${data.length}`);
    const items = data as { index?: unknown; embedding?: unknown }[];
    const indexed = items.every((item) => typeof item?.index === 'number');
    const ordered = indexed ? [...items].sort((a, b) => (a.index as number) - (b.index as number)) : items;
    const vectors = ordered.map((item, position) => {
      if (indexed && item.index !== position) throw invalid(`"index" values are not 0..${expected - 1}`);
      const embedding = item?.embedding;
      if (
        !Array.isArray(embedding) ||
        !embedding.every((value) => typeof value === 'number' && Number.isFinite(value))
      ) {
        throw invalid('"embedding" is not an array of numbers');
      }
      if (embedding.length !== this.dimension) {
        throw new EmbeddingError(
          'EMBEDDING_DIMENSION_MISMATCH',
          `Model ${this.model} returned ${embedding.length}-dimensional vectors, but the configured dimension is ${this.dimension}`,
          false,
        );
      }
      return embedding as number[];
    });
    return { vectors, usedTokens };
  }
}

/** `{baseUrl}/v1/embeddings`, without doubling a `/v1` the base URL already ends in. */
export function embeddingsEndpoint(baseUrl: string): string {
  const url = new URL(baseUrl);
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = path.endsWith('/v1') ? `${path}/embeddings` : `${path}/v1/embeddings`;
  return url.toString();
}

/** The server's own explanation: OpenAI's `{error: {message}}`, common variants, or the raw text. */
function serverMessage(body: string, statusText: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown; message?: unknown; detail?: unknown };
    const error = parsed?.error;
    const candidate =
      (typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : error) ??
      parsed?.message ??
      parsed?.detail;
    if (typeof candidate === 'string' && candidate) return candidate;
  } catch {
    // Not JSON: fall through to the raw text.
  }
  const text = body.trim();
  if (!text) return statusText || 'no message';
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return error instanceof Error ? error.message : String(error);
}
