import { admit, estimateTokens, liveEntries, LocalSlidingWindow, type WindowEntry } from './sliding-window';

const entry = (at: number, tokens = 1, id = `r${at}`): WindowEntry => ({ id, at, tokens });

describe('admit', () => {
  const limits = { windowMs: 1000, maxRequests: 3, maxTokens: 0 };

  it('grants while the window holds fewer requests than the limit', () => {
    expect(admit([], 1, limits, 0)).toEqual({ granted: true });
    expect(admit([entry(0), entry(100)], 1, limits, 200)).toEqual({ granted: true });
  });

  it('waits, at the limit, until the entry that makes room leaves the window', () => {
    const log = [entry(0), entry(100), entry(400)];
    expect(admit(log, 1, limits, 500)).toEqual({ granted: false, waitMs: 500 });
    // With a limit of 2, the second-newest entry has to leave first.
    expect(admit(log, 1, { ...limits, maxRequests: 2 }, 500)).toEqual({ granted: false, waitMs: 600 });
  });

  it('waits for enough tokens to leave the window', () => {
    const tokenLimits = { windowMs: 1000, maxRequests: 0, maxTokens: 100 };
    const log = [entry(0, 40), entry(200, 30), entry(300, 20)];
    expect(admit(log, 10, tokenLimits, 500)).toEqual({ granted: true });
    expect(admit(log, 11, tokenLimits, 500)).toEqual({ granted: false, waitMs: 500 });
    expect(admit(log, 60, tokenLimits, 500)).toEqual({ granted: false, waitMs: 700 });
    expect(admit(log, 100, tokenLimits, 500)).toEqual({ granted: false, waitMs: 800 });
  });

  it('lets a request larger than the whole token limit go into an empty window only', () => {
    const tokenLimits = { windowMs: 1000, maxRequests: 0, maxTokens: 100 };
    expect(admit([], 500, tokenLimits, 0)).toEqual({ granted: true });
    expect(admit([entry(0, 1), entry(300, 1)], 500, tokenLimits, 500)).toEqual({ granted: false, waitMs: 800 });
  });

  it('waits for the later of the two limits', () => {
    const both = { windowMs: 1000, maxRequests: 2, maxTokens: 100 };
    expect(admit([entry(0, 90), entry(600, 5)], 10, both, 700)).toEqual({ granted: false, waitMs: 300 });
    expect(admit([entry(0, 5), entry(600, 95)], 10, both, 700)).toEqual({ granted: false, waitMs: 900 });
  });

  it('keeps only the entries younger than the window', () => {
    expect(liveEntries([entry(0), entry(1), entry(500)], 1000, 1000).map((e) => e.at)).toEqual([1, 500]);
  });
});

describe('estimateTokens', () => {
  it('counts about four ASCII characters a token and one per other character, at least one per text', () => {
    expect(estimateTokens([])).toBe(0);
    expect(estimateTokens([''])).toBe(1);
    expect(estimateTokens(['abcd'])).toBe(1);
    expect(estimateTokens(['abcde'])).toBe(2);
    expect(estimateTokens(['a'.repeat(400), 'b'.repeat(40)])).toBe(110);
    expect(estimateTokens(['東京タワー'])).toBe(5);
    expect(estimateTokens(['naïve café'])).toBe(4);
  });
});

describe('LocalSlidingWindow', () => {
  it('admits up to the limit per window, then as the oldest requests leave', () => {
    const window = new LocalSlidingWindow({ windowMs: 1000, maxRequests: 2, maxTokens: 0 });
    expect(window.tryAcquire('a', 1, 0)).toEqual({ granted: true });
    expect(window.tryAcquire('b', 1, 400)).toEqual({ granted: true });
    expect(window.tryAcquire('c', 1, 500)).toEqual({ granted: false, waitMs: 500 });
    expect(window.tryAcquire('c', 1, 1000)).toEqual({ granted: true });
    expect(window.tryAcquire('d', 1, 1100)).toEqual({ granted: false, waitMs: 300 });
  });

  it('holds everyone back during a pause, even when unlimited, and keeps the longer of two pauses', () => {
    const window = new LocalSlidingWindow({ windowMs: 1000, maxRequests: 0, maxTokens: 0 });
    expect(window.tryAcquire('a', 1, 0)).toEqual({ granted: true });
    window.pause(2000, 0);
    window.pause(500, 100);
    expect(window.tryAcquire('b', 1, 1500)).toEqual({ granted: false, waitMs: 500 });
    expect(window.tryAcquire('b', 1, 2000)).toEqual({ granted: true });
  });

  it('charges a request its real token count once the provider says it', () => {
    const window = new LocalSlidingWindow({ windowMs: 1000, maxRequests: 0, maxTokens: 100 });
    expect(window.tryAcquire('a', 10, 0)).toEqual({ granted: true });
    window.settle('a', 95);
    expect(window.tryAcquire('b', 10, 100)).toEqual({ granted: false, waitMs: 900 });
    window.settle('a', 5);
    expect(window.tryAcquire('b', 10, 100)).toEqual({ granted: true });
  });
});
