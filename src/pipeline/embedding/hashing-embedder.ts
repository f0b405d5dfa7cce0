import { l2Normalize } from './cosine';
import type { EmbeddingProvider } from './embedding-provider';

export interface HashingEmbedderOptions {
  /** Vector length; more dimensions mean fewer hash collisions. Default 384. */
  dimension?: number;
}

/**
 * A local, deterministic embedder that needs no model file and no network, so the
 * platform works out of the box and tests are reproducible. It is the "hashing trick"
 * over a bag of words: text is lower-cased and split into runs of Unicode letters and
 * digits; each word and each pair of adjacent words is hashed (MurmurHash3 x86 32-bit of
 * its UTF-8 bytes, seed 0 picks the dimension, seed 1 picks the sign so collisions
 * cancel out on average instead of piling up); counts are damped to `1 + ln(count)`; the
 * vector is L2-normalised.
 *
 * Honest limits: this measures lexical overlap only. Texts sharing many words score a
 * high cosine; synonyms, paraphrases and other languages score nothing. Use an
 * OpenAI-compatible model server for semantic search. Changing anything here changes
 * every vector, so bump `model` when you do.
 */
export class HashingEmbedder implements EmbeddingProvider {
  readonly name = 'hashing';
  readonly model = 'hashing-murmur3-unigram-bigram-v1';
  readonly dimension: number;

  constructor({ dimension = 384 }: HashingEmbedderOptions = {}) {
    if (!Number.isInteger(dimension) || dimension < 1) {
      throw new RangeError(`dimension must be a positive integer, got ${dimension}`);
    }
    this.dimension = dimension;
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<number[][]> {
    signal?.throwIfAborted();
    return texts.map((text) => this.embedOne(text));
  }

  /** Synchronous form of `embed` for a single text. */
  embedOne(text: string): number[] {
    const vector = new Float64Array(this.dimension);
    for (const [feature, count] of countFeatures(tokenize(text))) {
      const bytes = Buffer.from(feature, 'utf8');
      const index = murmur3(bytes, 0) % this.dimension;
      const sign = murmur3(bytes, 1) & 1 ? -1 : 1;
      vector[index] += sign * (1 + Math.log(count));
    }
    return l2Normalize(vector);
  }
}

/** Lower-cased runs of letters, combining marks and digits; NFKC folds width and ligature variants. */
export function tokenize(text: string): string[] {
  return (
    text
      .normalize('NFKC')
      .toLowerCase()
      .match(/[\p{L}\p{M}\p{N}]+/gu) ?? []
  );
}

function countFeatures(tokens: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (feature: string) => counts.set(feature, (counts.get(feature) ?? 0) + 1);
  for (let i = 0; i < tokens.length; i++) {
    add(tokens[i]);
    // A space cannot occur inside a token, so a bigram never collides with a unigram's text.
    if (i > 0) add(`${tokens[i - 1]} ${tokens[i]}`);
  }
  return counts;
}

/** MurmurHash3 x86 32-bit; matches the reference (and Python's `mmh3.hash(..., signed=False)`). */
export function murmur3(bytes: Uint8Array, seed: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = bytes.length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = bytes.length & 3;
  if (tail > 0) {
    let k = 0;
    for (let i = tail - 1; i >= 0; i--) k = (k << 8) | bytes[blocks + i];
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
