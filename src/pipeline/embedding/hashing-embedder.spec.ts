import { cosineSimilarity, l2Norm } from './cosine';
import { HashingEmbedder, murmur3, tokenize } from './hashing-embedder';

describe('HashingEmbedder', () => {
  const embedder = new HashingEmbedder();

  it('implements MurmurHash3 x86 32-bit exactly (reference test vectors)', () => {
    const hash = (text: string, seed = 0) => murmur3(Buffer.from(text, 'utf8'), seed);
    expect(hash('')).toBe(0);
    expect(hash('', 1)).toBe(0x514e28b7);
    expect(hash('hello')).toBe(0x248bfa47);
    expect(hash('abc')).toBe(0xb3dd93fa);
    expect(hash('Hello, world!')).toBe(0xc0363e43);
    expect(hash('aaaa', 0x9747b28c)).toBe(0x5a97808a);
    expect(hash('The quick brown fox jumps over the lazy dog')).toBe(0x2e4ff723);
  });

  it('tokenises lower-cased Unicode words and numbers, dropping punctuation', () => {
    expect(tokenize('Hello, WORLD! Déjà-vu 42 東京 ﬁne')).toEqual([
      'hello',
      'world',
      'déjà',
      'vu',
      '42',
      '東京',
      'fine',
    ]);
  });

  it('describes itself and returns unit vectors of the configured dimension', async () => {
    expect(embedder).toMatchObject({ name: 'hashing', dimension: 384 });
    expect(embedder.model).toMatch(/^hashing-/);
    const [vector] = await embedder.embed(['The river crossed a valley of quiet stones.']);
    expect(vector).toHaveLength(384);
    expect(l2Norm(vector)).toBeCloseTo(1, 12);
    const [small] = await new HashingEmbedder({ dimension: 16 }).embed(['a b c d e f g']);
    expect(small).toHaveLength(16);
    expect(() => new HashingEmbedder({ dimension: 0 })).toThrow(RangeError);
  });

  it('is deterministic and ignores case and punctuation', async () => {
    const [a, b, c] = await embedder.embed([
      'Quiet stones, quiet river.',
      'Quiet stones, quiet river.',
      'quiet STONES quiet river',
    ]);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(new HashingEmbedder().embedOne('Quiet stones, quiet river.')).toEqual(a);
  });

  it('scores texts sharing many words high and unrelated texts low', async () => {
    const [base, similar, unrelated] = await embedder.embed([
      'The keeper cleaned the lighthouse lens and polished the brass before the storm arrived.',
      'Before the storm arrived the keeper polished the brass and cleaned the lighthouse lens.',
      'Quarterly revenue grew because the new pricing model attracted enterprise customers.',
    ]);
    expect(cosineSimilarity(base, similar)).toBeGreaterThan(0.7);
    expect(cosineSimilarity(base, unrelated)).toBeLessThan(0.25);
    expect(cosineSimilarity(base, similar)).toBeGreaterThan(cosineSimilarity(base, unrelated) + 0.5);
  });

  it('uses word order through bigrams', () => {
    const forward = embedder.embedOne('dog bites man');
    const backward = embedder.embedOne('man bites dog');
    const similarity = cosineSimilarity(forward, backward);
    expect(similarity).toBeLessThan(0.9);
    expect(similarity).toBeGreaterThan(0.3);
  });

  it('embeds empty or punctuation-only text as a zero vector', () => {
    for (const text of ['', '   ', '!?…']) {
      const vector = embedder.embedOne(text);
      expect(vector).toHaveLength(384);
      expect(vector.every((value) => value === 0)).toBe(true);
    }
  });

  it('rejects when the signal is already aborted', async () => {
    await expect(embedder.embed(['x'], AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
  });
});
