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
  /** Upper bound on any single wait, including a server's `Retry-After`. Default 60 s. */
  maxRetryDelayMs?: number;
  /** Per-request timeout; a timed-out request is retried like a network failure. Default 60 s. */
  timeoutMs?: number;
}

/** Statuses that mean "try again later" rather than "your request is wrong". */
const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

type Attempt = { vectors: number[][] } | { retryAfterMs: number | undefined; failure: string; status?: number };

/**
 * Embeds through any server speaking OpenAI's `POST /v1/embeddings` (OpenAI, Azure-style
 * proxies, vLLM, Ollama, LocalAI, text-embeddings-inference), with plain `fetch` so no SDK
 * pins the Node version. Inputs are sent in batches; overload (429, 503 and other 5xx,
 * 408) and network failures are retried, honouring `Retry-After` (seconds or HTTP date)
 * and otherwise backing off exponentially with jitter, so a rate-limited server is not
 * hammered; other 4xx fail at once with the server's own message, since repeating a bad
 * request cannot help. Vectors are returned in input order (the response is sorted by
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
    if (!this.model) throw new RangeError('model must not be empty');
    for (const [name, value, min] of [
      ['dimension', this.dimension, 1],
      ['batchSize', this.batchSize, 1],
      ['maxRetries', this.maxRetries, 0],
      ['initialBackoffMs', this.initialBackoffMs, 0],
      ['maxRetryDelayMs', this.maxRetryDelayMs, 0],
      ['timeoutMs', this.timeoutMs, 1],
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

  private async embedBatch(input: string[], signal: AbortSignal | undefined): Promise<number[][]> {
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.attempt(input, signal);
      if ('vectors' in outcome) return outcome.vectors;
      if (attempt >= this.maxRetries) {
        throw new EmbeddingError(
          'EMBEDDING_RETRIES_EXHAUSTED',
          `Embedding server ${this.endpoint} still failing after ${attempt + 1} attempts: ${outcome.failure}`,
          true,
          outcome.status,
        );
      }
      const backoff = this.initialBackoffMs * 2 ** attempt;
      const delay = outcome.retryAfterMs ?? backoff / 2 + Math.random() * (backoff / 2);
      await sleep(Math.min(delay, this.maxRetryDelayMs), signal);
    }
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
    if (response.ok) return { vectors: this.parseVectors(body, input.length) };
    const failure = `HTTP ${response.status}: ${serverMessage(body, response.statusText)}`;
    if (RETRYABLE_STATUSES.has(response.status)) {
      return { retryAfterMs: parseRetryAfter(response.headers.get('retry-after')), failure, status: response.status };
    }
    throw new EmbeddingError(
      'EMBEDDING_REQUEST_FAILED',
      `Embedding request to ${this.endpoint} failed with ${failure}`,
      false,
      response.status,
    );
  }

  private parseVectors(body: string, expected: number): number[][] {
    const invalid = (detail: string) =>
      new EmbeddingError('EMBEDDING_INVALID_RESPONSE', `Invalid response from ${this.endpoint}: ${detail}`, false);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw invalid('body is not JSON');
    }
    const data = (parsed as { data?: unknown } | null)?.data;
    if (!Array.isArray(data)) throw invalid('no "data" array');
    if (data.length !== expected) throw invalid(`expected ${expected} embeddings, got ${data.length}`);
    const items = data as { index?: unknown; embedding?: unknown }[];
    const indexed = items.every((item) => typeof item?.index === 'number');
    const ordered = indexed ? [...items].sort((a, b) => (a.index as number) - (b.index as number)) : items;
    return ordered.map((item, position) => {
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
  }
}

/** `{baseUrl}/v1/embeddings`, without doubling a `/v1` the base URL already ends in. */
export function embeddingsEndpoint(baseUrl: string): string {
  const url = new URL(baseUrl);
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = path.endsWith('/v1') ? `${path}/embeddings` : `${path}/v1/embeddings`;
  return url.toString();
}

/**
 * Milliseconds to wait according to a `Retry-After` header: delay-seconds or an HTTP
 * date. `undefined` when absent or unparseable, so the caller falls back to backoff.
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  // All three HTTP-date forms start with a day name; this keeps Date.parse from reading '-5' as a year.
  const date = /^[a-z]/i.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
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

/** A timer that rejects with the signal's reason as soon as the task is aborted. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
