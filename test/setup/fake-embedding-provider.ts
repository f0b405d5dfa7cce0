import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeProviderLimits {
  /** The provider's own window; requests past its limits within it get 429 + Retry-After. */
  windowMs: number;
  /** 0 = unlimited. */
  maxRequests: number;
  maxTokens: number;
}

export interface ProviderRequest {
  /** Arrival time (Date.now()). */
  at: number;
  tokens: number;
  status: number;
}

/** Tokens as this provider counts them: a quarter of the characters, at least one per text. */
export const fakeTokenCount = (texts: string[]): number =>
  texts.reduce((sum, text) => sum + Math.max(1, Math.ceil(text.length / 4)), 0);

/**
 * A local OpenAI-compatible embedding server that counts requests and tokens in its own
 * sliding window and, like a real provider, answers 429 with Retry-After past its limits.
 * It can also be told to refuse the next requests with 429 whatever its counts. Every
 * request is recorded with its arrival time, so a test can check what the provider saw.
 */
export class FakeEmbeddingProvider {
  readonly requests: ProviderRequest[] = [];
  url = '';
  private readonly server: Server;
  private forced: { count: number; retryAfterSeconds: number } = { count: 0, retryAfterSeconds: 0 };

  constructor(
    private readonly dimension: number,
    private limits: FakeProviderLimits = { windowMs: 60_000, maxRequests: 0, maxTokens: 0 },
  ) {
    this.server = createServer((req, res) => {
      this.handle(req, res);
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** Forgets what it saw and takes new limits. */
  reset(limits: FakeProviderLimits = { windowMs: 60_000, maxRequests: 0, maxTokens: 0 }): void {
    this.requests.length = 0;
    this.limits = limits;
    this.forced = { count: 0, retryAfterSeconds: 0 };
  }

  /** The next `count` requests get 429 with `Retry-After: retryAfterSeconds`. */
  refuseNext(count: number, retryAfterSeconds: number): void {
    this.forced = { count, retryAfterSeconds };
  }

  accepted(): ProviderRequest[] {
    return this.requests.filter((r) => r.status === 200);
  }

  refused(): ProviderRequest[] {
    return this.requests.filter((r) => r.status === 429);
  }

  /** The most requests, and the most tokens, accepted within any window of `windowMs` (t - windowMs, t]. */
  peak(windowMs: number): { requests: number; tokens: number } {
    const accepted = this.accepted();
    let requests = 0;
    let tokens = 0;
    for (let j = 0, i = 0, sum = 0; j < accepted.length; j++) {
      sum += accepted[j].tokens;
      while (accepted[i].at <= accepted[j].at - windowMs) sum -= accepted[i++].tokens;
      requests = Math.max(requests, j - i + 1);
      tokens = Math.max(tokens, sum);
    }
    return { requests, tokens };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const at = Date.now();
      const { input } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { input: string[] };
      const tokens = fakeTokenCount(input);
      const retryAfterMs = this.refusal(at, tokens);
      this.requests.push({ at, tokens, status: retryAfterMs === undefined ? 200 : 429 });
      if (retryAfterMs !== undefined) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(retryAfterMs / 1000) });
        res.end(JSON.stringify({ error: { message: 'Rate limit reached', type: 'rate_limit_exceeded' } }));
        return;
      }
      const data = input.map((text, index) => ({
        object: 'embedding',
        index,
        embedding: Array.from({ length: this.dimension }, (_, i) => (i === 0 ? text.length : i === 1 ? 1 : 0)),
      }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ object: 'list', model: 'fake', data, usage: { prompt_tokens: tokens, total_tokens: tokens } }),
      );
    });
  }

  /** Milliseconds to ask the client to wait, or undefined to accept the request. */
  private refusal(at: number, tokens: number): number | undefined {
    if (this.forced.count > 0) {
      this.forced.count--;
      return this.forced.retryAfterSeconds * 1000;
    }
    const { windowMs, maxRequests, maxTokens } = this.limits;
    const live = this.accepted().filter((r) => r.at > at - windowMs);
    const used = live.reduce((sum, r) => sum + r.tokens, 0);
    const over = (maxRequests > 0 && live.length >= maxRequests) || (maxTokens > 0 && used + tokens > maxTokens);
    if (!over) return undefined;
    const oldest = live.length > 0 ? live[0].at : at;
    return Math.max(1000, Math.ceil((oldest + windowMs - at) / 1000) * 1000);
  }
}
