import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { errorMessage } from '../common/errors/error-message';
import { withTimeout } from '../common/utils/with-timeout';
import { sleep } from './abortable-sleep';
import type { RedisRequestBudget } from './redis-request-budget';
import { type Admission, LocalSlidingWindow, type WindowLimits } from './sliding-window';

/** Told what the limiter does, for metrics; the metrics module implements it. */
export interface RateLimitObserver {
  /** Every admission, with the time the caller waited for it (0 when it went at once). */
  throttled(waitSeconds: number): void;
  /** The provider answered 429. */
  rateLimited(): void;
}

/** The DI token under which the metrics module provides a RateLimitObserver for the embedding provider. */
export const EMBEDDING_RATE_LIMIT_OBSERVER = Symbol('EMBEDDING_RATE_LIMIT_OBSERVER');

/** A request admitted by the limiter: its id and what it was charged, to settle the real cost later. */
export interface Reservation {
  id: string;
  tokens: number;
  shared: boolean;
}

/** The wait the budget asks for would pass the caller's deadline: give up now rather than sleep in vain. */
export class RateLimitWaitExceededError extends Error {
  constructor(readonly waitMs: number) {
    super(`the provider's rate limit asks for a wait of ${Math.ceil(waitMs / 1000)} s, past the allowed throttle wait`);
    this.name = 'RateLimitWaitExceededError';
  }
}

export interface ProviderRateLimiterOptions {
  limits: WindowLimits;
  /** The budget shared through Redis; without it the limit holds per process. */
  shared?: RedisRequestBudget;
  observer?: RateLimitObserver;
  /** A Redis command slower than this counts as Redis not answering. Default 2 s. */
  redisTimeoutMs?: number;
  /** After Redis failed, how long the process keeps its own budget before asking Redis again. Default 5 s. */
  fallbackMs?: number;
  /**
   * Longest single sleep before asking the budget again. The budget's answer assumes that
   * nothing else frees room, but a request charged its estimate gives back the difference
   * when the provider reports fewer tokens. Default 1 s.
   */
  maxPollMs?: number;
  /** Log context, e.g. `EmbeddingLimits`. */
  name?: string;
}

/**
 * Keeps every caller of one provider within its requests- and tokens-per-window limits and
 * behind a 429's reset, across all worker processes: admissions go through the Redis budget
 * (one sliding window for everyone), so 50 concurrent tasks queue for the same slots and a
 * 429 seen by one process pauses all of them. Waiting is inside the caller's attempt, ends
 * at once when its signal aborts (cancel, timeout), and never passes its deadline.
 *
 * When Redis cannot answer, the process falls back to its own window (the same limits, so
 * N processes may then send up to N times the limit) rather than failing tasks; it says so
 * once, and once again when the shared budget is back.
 */
export class ProviderRateLimiter {
  private readonly logger: Logger;
  private readonly local: LocalSlidingWindow;
  private readonly idPrefix = randomBytes(6).toString('hex');
  private sequence = 0;
  private fallbackUntil = 0;
  private degraded = false;

  constructor(private readonly options: ProviderRateLimiterOptions) {
    this.logger = new Logger(options.name ?? 'ProviderLimits');
    this.local = new LocalSlidingWindow(options.limits);
  }

  /**
   * Waits until a request of `tokens` may be sent and records it. Rejects with the signal's
   * reason when aborted, and with RateLimitWaitExceededError as soon as the wait asked for
   * would end after `deadline` (epoch ms).
   */
  async acquire(tokens: number, signal?: AbortSignal, deadline = Number.POSITIVE_INFINITY): Promise<Reservation> {
    const started = Date.now();
    const id = `${this.idPrefix}-${(this.sequence++).toString(36)}`;
    for (;;) {
      signal?.throwIfAborted();
      const { admission, shared } = await this.tryAcquire(id, tokens);
      if (admission.granted) {
        this.options.observer?.throttled((Date.now() - started) / 1000);
        return { id, tokens, shared };
      }
      // A little jitter, so the callers told the same wait do not all come back in the same millisecond.
      const waitMs = admission.waitMs + Math.random() * Math.min(50, admission.waitMs / 10);
      if (Date.now() + waitMs > deadline) throw new RateLimitWaitExceededError(Date.now() + waitMs - started);
      await sleep(Math.min(waitMs, this.options.maxPollMs ?? 1000), signal);
    }
  }

  /** The provider answered 429: nobody sends for `pauseMs`. */
  async rateLimited(pauseMs: number): Promise<void> {
    this.options.observer?.rateLimited();
    await this.pause(pauseMs);
  }

  /** Nobody sends for `pauseMs` (a 429's reset, or a budget the provider reports exhausted). */
  async pause(pauseMs: number): Promise<void> {
    this.local.pause(pauseMs, Date.now());
    await this.onShared((shared) => shared.pause(pauseMs));
  }

  /** Charges an admitted request what the provider says it cost, when that differs from the estimate. */
  async settle(reservation: Reservation, realTokens: number): Promise<void> {
    if (realTokens === reservation.tokens) return;
    if (!reservation.shared) {
      this.local.settle(reservation.id, realTokens);
      return;
    }
    await this.onShared((shared) => shared.settle(reservation.id, reservation.tokens, realTokens));
  }

  private async tryAcquire(id: string, tokens: number): Promise<{ admission: Admission; shared: boolean }> {
    const admission = await this.onShared((shared) => shared.tryAcquire(id, tokens));
    if (admission) return { admission, shared: true };
    return { admission: this.local.tryAcquire(id, tokens, Date.now()), shared: false };
  }

  /** Runs a command on the shared budget; undefined when there is none or Redis cannot answer (then the process falls back). */
  private async onShared<T>(command: (shared: RedisRequestBudget) => Promise<T>): Promise<T | undefined> {
    const { shared } = this.options;
    if (!shared || Date.now() < this.fallbackUntil) return undefined;
    try {
      const result = await withTimeout(command(shared), this.options.redisTimeoutMs ?? 2000);
      if (this.degraded) {
        this.degraded = false;
        this.logger.log('Redis answers again: the provider rate limits are shared by all processes again');
      }
      return result;
    } catch (error) {
      this.fallbackUntil = Date.now() + (this.options.fallbackMs ?? 5000);
      if (!this.degraded) {
        this.degraded = true;
        this.logger.warn(
          `Redis does not answer (${errorMessage(error)}): the provider rate limits ` +
            'now hold per process until it does',
        );
      }
      return undefined;
    }
  }
}
