/** Chunking parameters, in characters (Unicode code points, see `splitText`). */
export interface SplitOptions {
  /** Upper bound on a chunk's length. */
  chunkSize: number;
  /** Exact number of characters each chunk shares with the previous one; must be < chunkSize. */
  chunkOverlap: number;
}

/** One chunk of a document, located by code-point offsets into the text given to `splitText`. */
export interface TextChunk {
  index: number;
  content: string;
  /** Inclusive start offset, in code points. */
  start: number;
  /** Exclusive end offset, in code points. */
  end: number;
}

/**
 * Splits text into overlapping chunks for embedding.
 *
 * Characters are Unicode code points, not UTF-16 code units: that is what a user means
 * by "characters" (and what Python's `len` counts), and it makes every guarantee below
 * exact while never cutting a surrogate pair in half. Offsets are therefore code-point
 * offsets; for text without astral characters (no emoji, no rare CJK) they equal
 * JavaScript string indices. A grapheme cluster (an emoji ZWJ sequence, a letter with a
 * combining accent) may still be split between code points.
 *
 * Guarantees, for any input and any `0 <= chunkOverlap < chunkSize`:
 * - every chunk is at most `chunkSize` code points;
 * - the first chunk starts at 0, the last ends at the end of the text, and each chunk
 *   starts exactly `chunkOverlap` code points before the previous one ended, so dropping
 *   the first `chunkOverlap` characters of every chunk but the first and concatenating
 *   rebuilds the text exactly (chunks are not trimmed, for that reason);
 * - each chunk ends at least one character after the previous one, so splitting always
 *   terminates, even with `chunkOverlap = chunkSize - 1`;
 * - whitespace-only text gives no chunks.
 *
 * Boundaries: a chunk ends where a paragraph break (blank line) ends, else after a
 * sentence end (`.`, `!`, `?`, `…`, optionally followed by closing quotes or brackets,
 * then whitespace; or a CJK full stop), else after whitespace between words, else at the
 * size limit (a hard cut, only for runs longer than the window with no whitespace). The
 * end always falls after the whitespace, so the text after the boundary starts the next
 * unit. To keep chunks from becoming tiny because a paragraph break happens to sit near
 * the start of the window, the three preferred boundaries are only looked for in the
 * second half of the window; if none is there, the last word boundary anywhere in the
 * window is used before resorting to a hard cut. Boundaries are found once, in one pass,
 * and looked up by binary search, so splitting is linear in the text length plus the
 * size of the output.
 */
export function splitText(text: string, { chunkSize, chunkOverlap }: SplitOptions): TextChunk[] {
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
  }
  if (!Number.isInteger(chunkOverlap) || chunkOverlap < 0 || chunkOverlap >= chunkSize) {
    throw new RangeError(
      `chunkOverlap must be an integer from 0 to chunkSize - 1 (${chunkSize - 1}), got ${chunkOverlap}`,
    );
  }
  if (!/\S/.test(text)) return [];

  const offsets = codePointOffsets(text);
  const length = offsets ? offsets.length - 1 : text.length;
  const unitOffset = offsets ? (point: number) => offsets[point] : (point: number) => point;
  const breaks = findBreaks(text);

  const chunks: TextChunk[] = [];
  let start = 0;
  for (;;) {
    const limit = start + chunkSize;
    let end: number;
    if (limit >= length) {
      end = length;
    } else {
      const earliest = start + chunkOverlap + 1;
      const preferredFrom = Math.max(earliest, start + Math.ceil(chunkSize / 2));
      end =
        lastBetween(breaks.paragraph, preferredFrom, limit) ??
        lastBetween(breaks.sentence, preferredFrom, limit) ??
        lastBetween(breaks.word, earliest, limit) ??
        limit;
    }
    chunks.push({ index: chunks.length, content: text.slice(unitOffset(start), unitOffset(end)), start, end });
    if (end === length) return chunks;
    start = end - chunkOverlap;
  }
}

/**
 * Maps code-point index to UTF-16 offset, or `undefined` when the text has no surrogates
 * and both coincide (the common case, which then costs no memory). A lone surrogate
 * counts as one code point, as `Array.from` and `for...of` count it.
 */
function codePointOffsets(text: string): Uint32Array | undefined {
  if (!/[\uD800-\uDFFF]/.test(text)) return undefined;
  const offsets = new Uint32Array(text.length + 1);
  let point = 0;
  let unit = 0;
  while (unit < text.length) {
    offsets[point++] = unit;
    unit += isSurrogatePair(text, unit) ? 2 : 1;
  }
  offsets[point] = text.length;
  return offsets.subarray(0, point + 1);
}

interface Breaks {
  /** Ascending code-point positions where a chunk may end, by preference. */
  paragraph: number[];
  sentence: number[];
  word: number[];
}

/** One pass over the text collecting every candidate chunk end, in code points. */
function findBreaks(text: string): Breaks {
  const breaks: Breaks = { paragraph: [], sentence: [], word: [] };
  let point = 0;
  let inWhitespace = false;
  let newlines = 0;
  // Whether the last non-space characters were a sentence terminator, possibly followed
  // by closing quotes or brackets; CJK stops end a sentence without any following space.
  let afterTerminator = false;
  let afterCjkStop = false;
  for (let unit = 0; unit < text.length; point++) {
    const code = text.charCodeAt(unit);
    if (isWhitespace(code)) {
      if (!inWhitespace) newlines = 0;
      inWhitespace = true;
      afterCjkStop = false;
      if (code === 0x0a || code === 0x2029) newlines += code === 0x2029 ? 2 : 1;
    } else {
      if (inWhitespace && point > 0) {
        if (newlines >= 2) breaks.paragraph.push(point);
        if (afterTerminator || newlines >= 2) breaks.sentence.push(point);
        breaks.word.push(point);
      } else if (afterCjkStop && !isCloser(code)) {
        breaks.sentence.push(point);
        breaks.word.push(point);
      }
      inWhitespace = false;
      if (isTerminator(code)) {
        afterTerminator = true;
        afterCjkStop = isCjkStop(code);
      } else if (!isCloser(code)) {
        afterTerminator = false;
        afterCjkStop = false;
      }
    }
    unit += isSurrogatePair(text, unit) ? 2 : 1;
  }
  return breaks;
}

/** The largest value in the ascending list within [from, to], by binary search. */
function lastBetween(sorted: number[], from: number, to: number): number | undefined {
  let low = 0;
  let high = sorted.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle] <= to) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found >= 0 && sorted[found] >= from ? sorted[found] : undefined;
}

function isSurrogatePair(text: string, unit: number): boolean {
  const code = text.charCodeAt(unit);
  if (code < 0xd800 || code > 0xdbff) return false;
  const next = text.charCodeAt(unit + 1);
  return next >= 0xdc00 && next <= 0xdfff;
}

function isWhitespace(code: number): boolean {
  return code <= 0x20
    ? code === 0x20 || (code >= 0x09 && code <= 0x0d)
    : code === 0xa0 ||
        code === 0x1680 ||
        (code >= 0x2000 && code <= 0x200a) ||
        code === 0x2028 ||
        code === 0x2029 ||
        code === 0x202f ||
        code === 0x205f ||
        code === 0x3000 ||
        code === 0xfeff;
}

function isTerminator(code: number): boolean {
  return code === 0x2e || code === 0x21 || code === 0x3f || code === 0x2026 || isCjkStop(code);
}

function isCjkStop(code: number): boolean {
  return code === 0x3002 || code === 0xff01 || code === 0xff1f;
}

/** Closing quotes and brackets that may follow a terminator: `"` `'` `)` `]` `»` `’` `”` `」` `』`. */
function isCloser(code: number): boolean {
  return (
    code === 0x22 ||
    code === 0x27 ||
    code === 0x29 ||
    code === 0x5d ||
    code === 0xbb ||
    code === 0x2019 ||
    code === 0x201d ||
    code === 0x300d ||
    code === 0x300f
  );
}
