/** Vector helpers for exact cosine search, used where pgvector is not available. */

/** Dot product; vectors must have the same length. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`Vector lengths differ: ${a.length} and ${b.length}`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** Euclidean (L2) length. */
export function l2Norm(vector: ArrayLike<number>): number {
  let sum = 0;
  // eslint-disable-next-line @typescript-eslint/prefer-for-of -- an ArrayLike (Float32Array or number[]) has no iterator in its type
  for (let i = 0; i < vector.length; i++) sum += vector[i] * vector[i];
  return Math.sqrt(sum);
}

/**
 * A copy scaled to unit length, so cosine similarity becomes a plain dot product. A zero
 * vector (e.g. the embedding of an empty text) stays zero rather than becoming NaN.
 */
export function l2Normalize(vector: ArrayLike<number>): number[] {
  const norm = l2Norm(vector);
  const result = Array.from(vector);
  if (norm === 0) return result;
  for (let i = 0; i < result.length; i++) result[i] /= norm;
  return result;
}

/**
 * Cosine similarity in [-1, 1]. Defined as 0 when either vector is zero, because "no
 * content" is unrelated to everything rather than undefined.
 */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const product = dot(a, b);
  const norms = l2Norm(a) * l2Norm(b);
  if (norms === 0) return 0;
  return Math.max(-1, Math.min(1, product / norms));
}
