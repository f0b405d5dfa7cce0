import { splitText, type SplitOptions, type TextChunk } from './text-splitter';

/** mulberry32: a tiny seeded PRNG, so a failing random case can be replayed from its seed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'the',
  'river',
  'crossed',
  'a',
  'valley',
  'of',
  'quiet',
  'stones',
  'and',
  'light',
  'naïve',
  'café',
  'Straße',
  'déjà',
  'vu',
  'e\u0301te\u0301',
  '東京',
  '你好',
  'مرحبا',
  'שלום',
  '😀',
  '👩‍💻',
  '🇫🇷',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  'x'.repeat(40),
  'incomprehensibilities',
  'e.g.',
  '42',
  '3.14',
  '"quoted"',
  '(aside)',
];
const ENDINGS = ['.', '!', '?', '…', '."', '.)', '。', ''];

function randomText(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const kind = random();
  if (kind < 0.05) return pick(['', ' ', '\n\n', ' \n \t\n ', '\u00a0\u3000']);
  if (kind < 0.1) return pick(['a', 'Z', '😀', 'é']).repeat(1 + Math.floor(random() * 3000));
  if (kind < 0.15)
    return Array.from({ length: 1 + Math.floor(random() * 800) }, () => pick(['😀', 'a', '👍🏽'])).join('');
  const paragraphs: string[] = [];
  const paragraphCount = 1 + Math.floor(random() * 8);
  for (let p = 0; p < paragraphCount; p++) {
    const sentences: string[] = [];
    const sentenceCount = 1 + Math.floor(random() * 6);
    for (let s = 0; s < sentenceCount; s++) {
      const words = Array.from({ length: 1 + Math.floor(random() * 25) }, () => pick(WORDS));
      sentences.push(words.join(random() < 0.1 ? '\n' : ' ') + pick(ENDINGS));
    }
    paragraphs.push(sentences.join(random() < 0.1 ? '  ' : ' '));
  }
  return pick(['', ' ', '\n']) + paragraphs.join(random() < 0.2 ? '\n\n\n' : '\n\n') + pick(['', '\n', ' ']);
}

function randomOptions(random: () => number): SplitOptions {
  const chunkSize = 1 + Math.floor(random() * (random() < 0.2 ? 20 : 400));
  const shape = random();
  const chunkOverlap =
    shape < 0.2 ? 0 : shape < 0.3 ? chunkSize - 1 : Math.floor(random() * Math.min(chunkSize, 1 + chunkSize / 2));
  return { chunkSize, chunkOverlap };
}

const isSpace = (char: string | undefined) => char !== undefined && /\s/u.test(char);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const CJK_STOP = /[。！？]["')\]»’”」』]*$/u;

/** Thrown instead of calling `expect` per chunk: the random test checks ~10^6 conditions. */
function check(condition: boolean, message: () => string): void {
  if (!condition) throw new Error(message());
}

/**
 * Naive, independent boundary classification in code points: a word end follows
 * whitespace (or a CJK full stop) and precedes text; a paragraph end also has a blank
 * line in the whitespace before it.
 */
function classifyBoundaries(points: string[]): { word: boolean[]; paragraph: boolean[] } {
  const word: boolean[] = [];
  const paragraph: boolean[] = [];
  for (let p = 1; p < points.length; p++) {
    if (isSpace(points[p])) continue;
    if (isSpace(points[p - 1])) {
      word[p] = true;
      let newlines = 0;
      for (let i = p - 1; i >= 0 && isSpace(points[i]); i--) if (points[i] === '\n') newlines++;
      paragraph[p] = newlines >= 2;
    } else if (CJK_STOP.test(points.slice(Math.max(0, p - 8), p).join(''))) {
      word[p] = true;
    }
  }
  return { word, paragraph };
}

function checkInvariants(text: string, chunks: TextChunk[], { chunkSize, chunkOverlap }: SplitOptions): void {
  if (!/\S/.test(text)) {
    check(chunks.length === 0, () => 'whitespace-only text must give no chunks');
    return;
  }
  const points = Array.from(text);
  const boundaries = classifyBoundaries(points);
  check(chunks.length > 0, () => 'no chunks');
  check(chunks[0].start === 0, () => 'first chunk does not start at 0');
  check(chunks[chunks.length - 1].end === points.length, () => 'last chunk does not end at the end of the text');
  let rebuilt = '';
  chunks.forEach((chunk, i) => {
    const at = () => `chunk ${i} ${JSON.stringify(chunk)}`;
    check(chunk.index === i, () => `${at()}: wrong index`);
    check(chunk.end - chunk.start <= chunkSize, () => `${at()}: longer than chunkSize`);
    check(chunk.end > chunk.start, () => `${at()}: empty`);
    check(
      chunk.content === points.slice(chunk.start, chunk.end).join(''),
      () => `${at()}: content does not match offsets`,
    );
    check(!LONE_SURROGATE.test(chunk.content), () => `${at()}: splits a surrogate pair`);
    if (i > 0) {
      const previous = chunks[i - 1];
      check(chunk.start === previous.end - chunkOverlap, () => `${at()}: overlap is not exactly ${chunkOverlap}`);
      check(chunk.end > previous.end, () => `${at()}: does not advance`);
    }
    rebuilt += i === 0 ? chunk.content : Array.from(chunk.content).slice(chunkOverlap).join('');

    if (i === chunks.length - 1) return;
    // Boundary preference, checked against the naive classification of the window.
    const earliest = chunk.start + chunkOverlap + 1;
    const preferredFrom = Math.max(earliest, chunk.start + Math.ceil(chunkSize / 2));
    const limit = chunk.start + chunkSize;
    let lastParagraph = -1;
    let lastWord = -1;
    for (let p = earliest; p <= limit; p++) {
      if (boundaries.word[p]) lastWord = p;
      if (p >= preferredFrom && boundaries.paragraph[p]) lastParagraph = p;
    }
    if (lastParagraph >= 0) {
      check(chunk.end === lastParagraph, () => `${at()}: should end at the paragraph break at ${lastParagraph}`);
    } else if (lastWord < 0) {
      check(chunk.end === limit, () => `${at()}: no boundary in the window, expected a hard cut at ${limit}`);
    } else {
      check(boundaries.word[chunk.end], () => `${at()}: does not end at a boundary`);
      check(chunk.end >= Math.min(preferredFrom, lastWord), () => `${at()}: ends earlier than the last word boundary`);
    }
  });
  check(rebuilt === text, () => 'chunks without their overlaps do not rebuild the text');
}

describe('splitText', () => {
  it('holds every guarantee on 600 random texts and option sets', () => {
    for (let seed = 1; seed <= 600; seed++) {
      const random = prng(seed);
      const text = randomText(random);
      const options = randomOptions(random);
      expect(() => {
        try {
          checkInvariants(text, splitText(text, options), options);
        } catch (error) {
          throw new Error(`seed ${seed} (${JSON.stringify(options)}): ${(error as Error).message}`);
        }
      }).not.toThrow();
    }
  });

  it('returns the whole text as one chunk when it fits', () => {
    expect(splitText('Short text.', { chunkSize: 100, chunkOverlap: 10 })).toEqual([
      { index: 0, content: 'Short text.', start: 0, end: 11 },
    ]);
  });

  it('returns no chunks for empty or whitespace-only text', () => {
    for (const text of ['', ' ', '\n\n', '\t \u00a0\u3000\n']) {
      expect(splitText(text, { chunkSize: 5, chunkOverlap: 1 })).toEqual([]);
    }
  });

  it('prefers a paragraph break over a later sentence end and word boundary', () => {
    const text = 'First paragraph here.\n\nSecond one. It goes on and on';
    const [first, second] = splitText(text, { chunkSize: 40, chunkOverlap: 0 });
    expect(first.content).toBe('First paragraph here.\n\n');
    expect(second.content.startsWith('Second one.')).toBe(true);
  });

  it('prefers a sentence end over a later word boundary', () => {
    const text = 'One two three four. Five six seven eight nine ten eleven';
    const [first] = splitText(text, { chunkSize: 30, chunkOverlap: 0 });
    expect(first.content).toBe('One two three four. ');
  });

  it('falls back to the last word boundary, then to a hard cut', () => {
    expect(splitText('alpha beta gamma delta', { chunkSize: 14, chunkOverlap: 0 })[0].content).toBe('alpha beta ');
    const giant = 'x'.repeat(250);
    const chunks = splitText(giant, { chunkSize: 100, chunkOverlap: 10 });
    expect(chunks.map((c) => [c.start, c.end])).toEqual([
      [0, 100],
      [90, 190],
      [180, 250],
    ]);
  });

  it('does not let an early paragraph break make a tiny chunk when a sentence end is in the second half', () => {
    const text = 'Title\n\nA sentence that runs for a while. Then more words follow here';
    const [first] = splitText(text, { chunkSize: 45, chunkOverlap: 0 });
    expect(first.content).toBe('Title\n\nA sentence that runs for a while. ');
  });

  it('overlaps neighbours by exactly chunkOverlap characters', () => {
    const text = 'aaaa bbbb cccc dddd eeee ffff gggg hhhh';
    const chunks = splitText(text, { chunkSize: 12, chunkOverlap: 4 });
    for (let i = 1; i < chunks.length; i++) {
      expect(chunks[i].content.slice(0, 4)).toBe(chunks[i - 1].content.slice(-4));
    }
    expect(chunks.length).toBeGreaterThan(3);
  });

  it('still advances when the overlap is chunkSize - 1', () => {
    const chunks = splitText('abcdef', { chunkSize: 3, chunkOverlap: 2 });
    expect(chunks.map((c) => c.content)).toEqual(['abc', 'bcd', 'cde', 'def']);
  });

  it('counts astral characters as one character and never splits a surrogate pair', () => {
    const text = '😀🎉👍'.repeat(5);
    const chunks = splitText(text, { chunkSize: 4, chunkOverlap: 1 });
    expect(chunks[0]).toEqual({ index: 0, content: '😀🎉👍😀', start: 0, end: 4 });
    expect(chunks[1].start).toBe(3);
    expect(chunks.every((c) => !LONE_SURROGATE.test(c.content))).toBe(true);
  });

  it('treats a lone surrogate as one character', () => {
    const text = 'ab\uD800cd\uDC00ef';
    const chunks = splitText(text, { chunkSize: 3, chunkOverlap: 0 });
    expect(chunks.map((c) => c.content)).toEqual(['ab\uD800', 'cd\uDC00', 'ef']);
  });

  it('ends a chunk after a CJK full stop even without a following space', () => {
    const text = '今日は晴れです。明日は雨が降るでしょう';
    expect(splitText(text, { chunkSize: 12, chunkOverlap: 0 })[0].content).toBe('今日は晴れです。');
  });

  it('rejects invalid options', () => {
    expect(() => splitText('text', { chunkSize: 10, chunkOverlap: 10 })).toThrow(RangeError);
    expect(() => splitText('text', { chunkSize: 10, chunkOverlap: -1 })).toThrow(/chunkOverlap/);
    expect(() => splitText('text', { chunkSize: 0, chunkOverlap: 0 })).toThrow(/chunkSize/);
    expect(() => splitText('text', { chunkSize: 2.5, chunkOverlap: 0 })).toThrow(/chunkSize/);
  });

  // How fast it splits is measured by the benchmark, not asserted here (a loaded machine
  // makes any wall-clock bound flaky); this checks the output on a document of real size.
  it('splits 5 MB of text into bounded chunks that cover it in order', () => {
    const random = prng(2024);
    const parts: string[] = [];
    let size = 0;
    while (size < 5_000_000) {
      const part = randomText(random);
      parts.push(part);
      size += part.length + 2;
    }
    const text = parts.join('\n\n');
    const chunks = splitText(text, { chunkSize: 1000, chunkOverlap: 200 });
    expect(chunks.length).toBeGreaterThan(5000);
    const points = Array.from(text); // offsets are code points
    let previousEnd = 200;
    for (const [i, chunk] of chunks.entries()) {
      expect(chunk.index).toBe(i);
      expect(chunk.start).toBe(previousEnd - 200);
      expect(chunk.end - chunk.start).toBeLessThanOrEqual(1000);
      expect(chunk.content).toBe(points.slice(chunk.start, chunk.end).join(''));
      previousEnd = chunk.end;
    }
    expect(previousEnd).toBe(points.length);
  });
});
