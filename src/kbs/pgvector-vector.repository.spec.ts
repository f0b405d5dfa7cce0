import { efSearchFor, hnswIndexName } from './pgvector-vector.repository';

describe('pgvector backend helpers', () => {
  it('raises ef_search to twice the limit, within pgvector’s 40..1000', () => {
    expect(efSearchFor(1)).toBe(40);
    expect(efSearchFor(50)).toBe(100);
    expect(efSearchFor(100)).toBe(200);
    expect(efSearchFor(5000)).toBe(1000);
  });

  it('names a kb’s index within PostgreSQL’s 63-byte identifiers, whatever the kb id holds', () => {
    const long = `kb_${'x'.repeat(125)}`;
    expect(hnswIndexName(long, 1536)).toMatch(/^vectors_hnsw_[0-9a-f]{16}_1536$/);
    expect(hnswIndexName(long, 1536).length).toBeLessThanOrEqual(63);
    expect(hnswIndexName('kb:a.b-c', 384)).not.toBe(hnswIndexName('kb:a.b-d', 384));
    expect(hnswIndexName('kb_1', 384)).toBe(hnswIndexName('kb_1', 384));
  });
});
