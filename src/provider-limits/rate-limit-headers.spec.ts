import { parseResetValue, parseRetryAfter, rateLimitPauseMs } from './rate-limit-headers';

const now = Date.parse('2025-01-01T00:00:00Z');
const headers = (values: Record<string, string>) => new Headers(values);

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP dates', () => {
    expect(parseRetryAfter('1', now)).toBe(1000);
    expect(parseRetryAfter(' 2.5 ', now)).toBe(2500);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:03 GMT', now)).toBe(3000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now)).toBe(0);
  });

  it('returns undefined for a missing or unparseable header', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});

describe('parseResetValue', () => {
  it.each([
    ['1s', 1000],
    ['6m0s', 360_000],
    ['20ms', 20],
    ['1h2m3.5s', 3_723_500],
    ['0.25s', 250],
    ['2m', 120_000],
    ['1m30s250ms', 90_250],
    ['3', 3000],
    ['0.5', 500],
  ])('reads the duration %s as %i ms', (value, expected) => {
    expect(parseResetValue(value, now)).toBe(expected);
  });

  it('reads epoch seconds and ISO dates as the time left until then', () => {
    expect(parseResetValue(String(now / 1000 + 7), now)).toBe(7000);
    expect(parseResetValue(String(now / 1000 - 7), now)).toBe(0);
    expect(parseResetValue('2025-01-01T00:00:12Z', now)).toBe(12_000);
  });

  it('returns undefined for what it cannot read', () => {
    for (const value of [null, '', 'soon', 's', 'ms', '5x', '-1s', 'Wed, 01 Jan 2025 00:00:03 GMT']) {
      expect(parseResetValue(value, now)).toBeUndefined();
    }
  });
});

describe('rateLimitPauseMs', () => {
  it('takes a 429 pause from retry-after-ms first, then Retry-After', () => {
    expect(rateLimitPauseMs(429, headers({ 'retry-after-ms': '1500', 'retry-after': '9' }), now)).toBe(1500);
    expect(rateLimitPauseMs(429, headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(rateLimitPauseMs(429, headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:04 GMT' }), now)).toBe(4000);
  });

  it("falls back to the exhausted budget's reset on a 429, or the longest reset when none says which", () => {
    const both = { 'x-ratelimit-reset-requests': '2s', 'x-ratelimit-reset-tokens': '40s' };
    expect(rateLimitPauseMs(429, headers({ ...both, 'x-ratelimit-remaining-requests': '0' }), now)).toBe(2000);
    expect(rateLimitPauseMs(429, headers({ ...both, 'x-ratelimit-remaining-tokens': '0' }), now)).toBe(40_000);
    expect(rateLimitPauseMs(429, headers(both), now)).toBe(40_000);
    expect(rateLimitPauseMs(429, headers({ 'x-ratelimit-reset': String(now / 1000 + 3) }), now)).toBe(3000);
    expect(rateLimitPauseMs(429, headers({ 'retry-after': 'later' }), now)).toBeUndefined();
    expect(rateLimitPauseMs(429, headers({}), now)).toBeUndefined();
  });

  it('pauses after a success only when the provider reports a budget exhausted', () => {
    expect(
      rateLimitPauseMs(
        200,
        headers({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '850ms' }),
        now,
      ),
    ).toBe(850);
    expect(
      rateLimitPauseMs(
        200,
        headers({ 'x-ratelimit-remaining-requests': '12', 'x-ratelimit-reset-requests': '850ms', 'retry-after': '5' }),
        now,
      ),
    ).toBeUndefined();
  });
});
