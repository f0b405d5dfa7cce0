/** What is read from a response's headers: fetch's `Headers` fits, and so does a plain lookup in tests. */
export interface HeaderLookup {
  get(name: string): string | null;
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

/** Epoch seconds are at least this large (2001-09-09); a smaller bare number is a delay in seconds. */
const EPOCH_SECONDS_FLOOR = 1e9;
const DURATION = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/;

/**
 * Milliseconds until an `x-ratelimit-reset*` value comes true. Providers disagree on the
 * form: OpenAI sends Go-style durations (`1s`, `6m0s`, `20ms`, `1h2m3.5s`), others a bare
 * number of seconds, epoch seconds (GitHub style) or an ISO 8601 date (Anthropic style).
 * `undefined` when absent or unreadable.
 */
export function parseResetValue(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    const number = Number(trimmed);
    return number >= EPOCH_SECONDS_FLOOR ? Math.max(0, Math.round(number * 1000 - now)) : Math.round(number * 1000);
  }
  const duration = DURATION.exec(trimmed);
  if (duration?.slice(1).some((part) => part !== undefined)) {
    const [hours, minutes, seconds, millis] = duration.slice(1).map((part) => Number(part ?? 0));
    return Math.round(((hours * 60 + minutes) * 60 + seconds) * 1000 + millis);
  }
  const date = /^\d{4}-\d{2}-\d{2}T/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The two budgets providers report, each as a remaining count and a reset time. */
const BUDGET_HEADERS = [
  { remaining: 'x-ratelimit-remaining-requests', reset: 'x-ratelimit-reset-requests' },
  { remaining: 'x-ratelimit-remaining-tokens', reset: 'x-ratelimit-reset-tokens' },
  { remaining: 'x-ratelimit-remaining', reset: 'x-ratelimit-reset' },
] as const;

/**
 * How long every caller of the provider should hold off after this response, or `undefined`
 * when it says nothing. A 429 is read as: `retry-after-ms` (OpenAI, Azure), else
 * `Retry-After`, else the reset of the exhausted budget (the longest reset when none says
 * it is exhausted). Any other response pauses only when a budget is reported exhausted
 * (remaining 0), so the next request does not have to be refused to learn it.
 */
export function rateLimitPauseMs(status: number, headers: HeaderLookup, now: number = Date.now()): number | undefined {
  if (status === 429) {
    const retryAfterMs = Number(headers.get('retry-after-ms'));
    if (headers.get('retry-after-ms') !== null && Number.isFinite(retryAfterMs) && retryAfterMs >= 0) {
      return Math.round(retryAfterMs);
    }
    const retryAfter = parseRetryAfter(headers.get('retry-after'), now);
    if (retryAfter !== undefined) return retryAfter;
  }
  const resets = BUDGET_HEADERS.map(({ remaining, reset }) => ({
    exhausted: headers.get(remaining)?.trim() === '0',
    resetMs: parseResetValue(headers.get(reset), now),
  })).filter((budget): budget is { exhausted: boolean; resetMs: number } => budget.resetMs !== undefined);
  const exhausted = resets.filter((budget) => budget.exhausted);
  const relevant = exhausted.length > 0 ? exhausted : status === 429 ? resets : [];
  return relevant.length > 0 ? Math.max(...relevant.map((budget) => budget.resetMs)) : undefined;
}
