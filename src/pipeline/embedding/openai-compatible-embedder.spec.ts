import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProviderRateLimiter } from '../../provider-limits/provider-rate-limiter';
import { EmbeddingError } from './embedding-provider';
import { OpenAiCompatibleEmbedder, embeddingsEndpoint } from './openai-compatible-embedder';

interface RecordedRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  body: { model: string; input: string[] };
}

interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  delayMs?: number;
}

/** A deterministic fake embedding: [length, first char code, 0, ...], so order can be checked. */
function fakeEmbedding(text: string, dimension: number): number[] {
  return Array.from({ length: dimension }, (_, i) => (i === 0 ? text.length : i === 1 ? text.charCodeAt(0) : 0));
}

function success(input: string[], dimension = 4, reverse = false): Reply {
  const data = input.map((text, index) => ({ object: 'embedding', index, embedding: fakeEmbedding(text, dimension) }));
  return { body: { object: 'list', model: 'test-model', data: reverse ? data.reverse() : data } };
}

describe('OpenAiCompatibleEmbedder against a local HTTP server', () => {
  let server: Server;
  let baseUrl: string;
  let requests: RecordedRequest[];
  let replies: ((request: RecordedRequest) => Reply)[];

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request: RecordedRequest = {
          method: req.method ?? '',
          url: req.url ?? '',
          authorization: req.headers.authorization,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'),
        };
        requests.push(request);
        const reply = (replies.shift() ?? ((r) => success(r.body.input)))(request);
        const send = () => {
          if (res.destroyed) return;
          const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
          res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
          res.end(body);
        };
        if (reply.delayMs) setTimeout(send, reply.delayMs);
        else send();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    requests = [];
    replies = [];
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const embedder = (overrides: Partial<ConstructorParameters<typeof OpenAiCompatibleEmbedder>[0]> = {}) =>
    new OpenAiCompatibleEmbedder({ baseUrl, model: 'test-model', dimension: 4, initialBackoffMs: 10, ...overrides });

  it('posts batches to /v1/embeddings and returns vectors in input order even when the server reorders them', async () => {
    replies = [
      (r) => success(r.body.input, 4, true),
      (r) => success(r.body.input, 4, true),
      (r) => success(r.body.input),
    ];
    const texts = ['alpha', 'be', 'gamma!', 'd', 'epsilon'];
    const vectors = await embedder({ batchSize: 2, apiKey: 'sk-test' }).embed(texts);
    expect(vectors).toEqual(texts.map((text) => fakeEmbedding(text, 4)));
    expect(requests.map((r) => r.body.input)).toEqual([['alpha', 'be'], ['gamma!', 'd'], ['epsilon']]);
    expect(requests.every((r) => r.method === 'POST' && r.url === '/v1/embeddings')).toBe(true);
    expect(requests[0].body.model).toBe('test-model');
    expect(requests[0].authorization).toBe('Bearer sk-test');
  });

  it('sends no Authorization header without a key, and does not double /v1', async () => {
    await embedder({ baseUrl: `${baseUrl}/v1/` }).embed(['x']);
    expect(requests[0].url).toBe('/v1/embeddings');
    expect(requests[0].authorization).toBeUndefined();
  });

  it('makes no request for an empty input list', async () => {
    await expect(embedder().embed([])).resolves.toEqual([]);
    expect(requests).toHaveLength(0);
  });

  it('waits for Retry-After (seconds) after a 429, then succeeds', async () => {
    replies = [
      () => ({ status: 429, headers: { 'retry-after': '1' }, body: { error: { message: 'Rate limit reached' } } }),
    ];
    const started = Date.now();
    const vectors = await embedder({ initialBackoffMs: 0 }).embed(['hello']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(vectors).toEqual([fakeEmbedding('hello', 4)]);
    expect(requests).toHaveLength(2);
  });

  it('caps a long Retry-After at maxRetryDelayMs', async () => {
    replies = [() => ({ status: 503, headers: { 'retry-after': '30' }, body: 'overloaded' })];
    const started = Date.now();
    await embedder({ maxRetryDelayMs: 50 }).embed(['hello']);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(requests).toHaveLength(2);
  });

  it('backs off and retries a 503 without Retry-After', async () => {
    replies = [() => ({ status: 503, body: 'busy' }), () => ({ status: 503, body: 'busy' })];
    await expect(embedder().embed(['a'])).resolves.toHaveLength(1);
    expect(requests).toHaveLength(3);
  });

  it('gives up after maxRetries with a retryable error carrying the last status and message', async () => {
    replies = Array.from({ length: 3 }, () => () => ({
      status: 503,
      headers: { 'retry-after': '0' },
      body: { error: { message: 'Slow down' } },
    }));
    const error = await embedder({ maxRetries: 2 })
      .embed(['a'])
      .catch((e: unknown) => e);
    expect(requests).toHaveLength(3);
    expect(error).toBeInstanceOf(EmbeddingError);
    expect(error).toMatchObject({ code: 'EMBEDDING_RETRIES_EXHAUSTED', retryable: true, status: 503 });
    expect((error as Error).message).toContain('after 3 attempts: HTTP 503: Slow down');
  });

  it('uses up no retry on a 429: it waits for the reset, bounded only by maxThrottleWaitMs', async () => {
    const tooMany = () => ({
      status: 429,
      headers: { 'retry-after-ms': '20' },
      body: { error: { message: 'Slow down' } },
    });
    replies = [tooMany, tooMany, tooMany];
    await expect(embedder({ maxRetries: 0 }).embed(['a'])).resolves.toEqual([fakeEmbedding('a', 4)]);
    expect(requests).toHaveLength(4);

    requests = [];
    replies = Array.from({ length: 1000 }, () => tooMany);
    const started = Date.now();
    const error = await embedder({ maxThrottleWaitMs: 300 })
      .embed(['a'])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EMBEDDING_RATE_LIMITED', retryable: true, status: 429 });
    expect((error as Error).message).toMatch(/is rate limited: .* past the allowed throttle wait of 0.3 s$/);
    expect(Date.now() - started).toBeLessThan(2000);
    // Each 429 after the first pauses at least the doubling backoff (10, 20, 40 ms ...): no hammering.
    expect(requests.length).toBeLessThan(10);
  });

  it('keeps to the limiter: a request past the budget fails retryably without being sent', async () => {
    const limiter = new ProviderRateLimiter({ limits: { windowMs: 60_000, maxRequests: 2, maxTokens: 0 } });
    const error = await embedder({ batchSize: 1, limiter, maxThrottleWaitMs: 200 })
      .embed(['a', 'b', 'c'])
      .catch((e: unknown) => e);
    expect(requests).toHaveLength(2);
    expect(error).toMatchObject({ code: 'EMBEDDING_RATE_LIMITED', retryable: true, status: undefined });
  });

  it('charges the tokens the provider reports, and pauses when it reports a budget exhausted', async () => {
    const limiter = new ProviderRateLimiter({ limits: { windowMs: 60_000, maxRequests: 0, maxTokens: 100 } });
    const settle = jest.spyOn(limiter, 'settle');
    replies = [
      (r) => ({
        ...success(r.body.input),
        body: { ...(success(r.body.input).body as object), usage: { prompt_tokens: 7, total_tokens: 7 } },
        headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '300ms' },
      }),
    ];
    const e = embedder({ limiter });
    await e.embed(['one two three four five six seven eight']);
    expect(settle).toHaveBeenCalledWith(expect.objectContaining({ tokens: 10 }), 7);
    const started = Date.now();
    await e.embed(['again']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('fails a 400 at once with the server’s error message', async () => {
    replies = [
      () => ({ status: 400, body: { error: { message: "'$.input' is invalid", type: 'invalid_request_error' } } }),
    ];
    const error = await embedder()
      .embed(['a'])
      .catch((e: unknown) => e);
    expect(requests).toHaveLength(1);
    expect(error).toMatchObject({ code: 'EMBEDDING_REQUEST_FAILED', retryable: false, status: 400 });
    expect((error as Error).message).toBe(
      `Embedding request to ${baseUrl}/v1/embeddings failed with HTTP 400: '$.input' is invalid`,
    );
  });

  it('quotes a plain-text 401 body', async () => {
    replies = [() => ({ status: 401, headers: { 'content-type': 'text/plain' }, body: 'Invalid API key' })];
    await expect(embedder().embed(['a'])).rejects.toThrow(/HTTP 401: Invalid API key$/);
    expect(requests).toHaveLength(1);
  });

  it('rejects vectors whose dimension differs from the configured one', async () => {
    replies = [(r) => success(r.body.input, 8)];
    const error = await embedder()
      .embed(['a'])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EMBEDDING_DIMENSION_MISMATCH', retryable: false });
    expect((error as Error).message).toBe(
      'Model test-model returned 8-dimensional vectors, but the configured dimension is 4',
    );
  });

  it('rejects malformed responses', async () => {
    replies = [
      () => ({ body: 'not json' }),
      () => ({ body: { data: [] } }),
      () => ({ body: { data: [{ index: 5, embedding: [1, 2, 3, 4] }] } }),
    ];
    for (const detail of ['body is not JSON', 'expected 1 embeddings, got 0', '"index" values are not 0..0']) {
      await expect(embedder().embed(['a'])).rejects.toThrow(detail);
    }
  });

  it('retries a request that times out', async () => {
    replies = [(r) => ({ ...success(r.body.input), delayMs: 500 })];
    await expect(embedder({ timeoutMs: 100 }).embed(['slow'])).resolves.toEqual([fakeEmbedding('slow', 4)]);
    expect(requests).toHaveLength(2);
  });

  it('retries when the server cannot be reached, then reports the network error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await embedder({ baseUrl: `http://127.0.0.1:${port}`, maxRetries: 1 })
      .embed(['a'])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EMBEDDING_RETRIES_EXHAUSTED', retryable: true });
    expect((error as Error).message).toMatch(/after 2 attempts: ECONNREFUSED/);
  });

  it('aborts an in-flight request and a backoff wait', async () => {
    replies = [(r) => ({ ...success(r.body.input), delayMs: 2000 })];
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort();
    }, 50);
    const started = Date.now();
    await expect(embedder().embed(['a'], controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(1000);

    replies = [() => ({ status: 429, headers: { 'retry-after': '10' } })];
    const waiting = new AbortController();
    setTimeout(() => {
      waiting.abort();
    }, 100);
    const waitStarted = Date.now();
    await expect(embedder().embed(['a'], waiting.signal)).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - waitStarted).toBeLessThan(1000);
    expect(requests).toHaveLength(2);
  });
});

describe('embeddingsEndpoint', () => {
  it.each([
    ['http://localhost:8080', 'http://localhost:8080/v1/embeddings'],
    ['http://localhost:8080/', 'http://localhost:8080/v1/embeddings'],
    ['https://api.openai.com/v1', 'https://api.openai.com/v1/embeddings'],
    ['https://api.openai.com/v1/', 'https://api.openai.com/v1/embeddings'],
    ['https://proxy.example/openai', 'https://proxy.example/openai/v1/embeddings'],
  ])('%s -> %s', (base, expected) => {
    expect(embeddingsEndpoint(base)).toBe(expected);
  });

  it('refuses an invalid base URL', () => {
    expect(() => new OpenAiCompatibleEmbedder({ baseUrl: 'not a url', model: 'm', dimension: 3 })).toThrow();
  });
});
