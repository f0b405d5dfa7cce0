import { cosineSimilarity, dot, l2Norm, l2Normalize } from './cosine';

describe('vector helpers', () => {
  it('computes dot products and norms', () => {
    expect(dot([1, 2, 3], [4, 5, 6])).toBe(32);
    expect(l2Norm([3, 4])).toBe(5);
    expect(() => dot([1], [1, 2])).toThrow(RangeError);
  });

  it('normalises to unit length without touching the input, and keeps a zero vector zero', () => {
    const input = [3, 4];
    expect(l2Normalize(input)).toEqual([0.6, 0.8]);
    expect(input).toEqual([3, 4]);
    expect(l2Normalize(new Float32Array([0, 0, 0]))).toEqual([0, 0, 0]);
  });

  it('gives cosine 1 for parallel, 0 for orthogonal, -1 for opposite and 0 for a zero vector', () => {
    expect(cosineSimilarity([1, 2], [2, 4])).toBeCloseTo(1, 12);
    expect(cosineSimilarity([1, 0], [0, 5])).toBe(0);
    expect(cosineSimilarity([1, 1], [-1, -1])).toBeCloseTo(-1, 12);
    expect(cosineSimilarity([0, 0], [1, 1])).toBe(0);
    expect(cosineSimilarity([1, 2, 3], [3, 2, 1])).toBeCloseTo(10 / 14, 12);
  });
});
