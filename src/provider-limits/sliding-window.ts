/**
 * The window maths of the provider budget, as pure functions over a log of past requests.
 * The in-process budget uses them directly; the Lua script of the Redis budget
 * (redis-request-budget.ts) does the same steps on a sorted set, so the unit tests of these
 * functions describe both.
 */

/** Limits over a sliding window; 0 means unlimited. */
export interface WindowLimits {
  windowMs: number;
  maxRequests: number;
  maxTokens: number;
}

/** One request sent within the window: when, and how many tokens it was charged. */
export interface WindowEntry {
  id: string;
  at: number;
  tokens: number;
}

export type Admission = { granted: true } | { granted: false; waitMs: number };

export const isUnlimited = (limits: WindowLimits): boolean => limits.maxRequests === 0 && limits.maxTokens === 0;

/**
 * Whether a request of `tokens` may go now, given the live entries (oldest first, each
 * younger than the window). When not, the wait is until enough of the oldest entries have
 * left the window: the one that brings the count below maxRequests, and the one whose
 * tokens, once gone, leave room for this request. A request larger than maxTokens on its
 * own goes only into an empty window, since it could never fit otherwise.
 */
export function admit(live: readonly WindowEntry[], tokens: number, limits: WindowLimits, now: number): Admission {
  let waitMs = 0;
  const leaves = (entry: WindowEntry) => entry.at + limits.windowMs - now;
  if (limits.maxRequests > 0 && live.length >= limits.maxRequests) {
    waitMs = leaves(live[live.length - limits.maxRequests]);
  }
  const used = live.reduce((sum, entry) => sum + entry.tokens, 0);
  if (limits.maxTokens > 0 && live.length > 0 && used + tokens > limits.maxTokens) {
    let remaining = used;
    for (let i = 0; i < live.length; i++) {
      remaining -= live[i].tokens;
      if (remaining + tokens <= limits.maxTokens || i === live.length - 1) {
        waitMs = Math.max(waitMs, leaves(live[i]));
        break;
      }
    }
  }
  return waitMs > 0 ? { granted: false, waitMs } : { granted: true };
}

/** The entries still inside the window at `now` (an entry leaves exactly windowMs after it was sent). */
export function liveEntries(entries: readonly WindowEntry[], windowMs: number, now: number): WindowEntry[] {
  return entries.filter((entry) => entry.at > now - windowMs);
}

/**
 * Tokens a request will cost when the provider has not said yet: about four characters per
 * token for ASCII text, one per other character (CJK text runs close to one token per
 * character, accented Latin text stays mostly ASCII). Deliberately on the high side: an
 * estimate that undercounts lets the window overshoot before the real count arrives.
 */
export function estimateTokens(texts: readonly string[]): number {
  let total = 0;
  for (const text of texts) {
    let ascii = 0;
    let other = 0;
    for (const char of text) {
      if (char.charCodeAt(0) < 128) ascii++;
      else other++;
    }
    total += Math.max(1, Math.ceil(ascii / 4) + other);
  }
  return total;
}

/**
 * A sliding-window budget held in this process alone: the fallback while Redis cannot be
 * reached, and the whole budget when no Redis is given. Time is passed in, so tests can
 * drive it.
 */
export class LocalSlidingWindow {
  private entries: WindowEntry[] = [];
  private pausedUntil = 0;

  constructor(private readonly limits: WindowLimits) {}

  /** Records the request and answers granted, or says how long to wait; nothing is recorded then. */
  tryAcquire(id: string, tokens: number, now: number): Admission {
    if (this.pausedUntil > now) return { granted: false, waitMs: this.pausedUntil - now };
    if (isUnlimited(this.limits)) return { granted: true };
    this.entries = liveEntries(this.entries, this.limits.windowMs, now);
    const admission = admit(this.entries, tokens, this.limits, now);
    if (admission.granted) this.entries.push({ id, at: now, tokens });
    return admission;
  }

  /** Nobody may send before `now + ms` (a pause already longer stays). */
  pause(ms: number, now: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, now + ms);
  }

  /** Charges a recorded request what the provider says it really cost. */
  settle(id: string, tokens: number): void {
    const entry = this.entries.find((candidate) => candidate.id === id);
    if (entry) entry.tokens = tokens;
  }
}
