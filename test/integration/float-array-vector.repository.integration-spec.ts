import { FloatArrayVectorRepository } from '../../src/kbs/float-array-vector.repository';
import { KnowledgeBaseRepository } from '../../src/kbs/knowledge-base.repository';
import { cosineSimilarity } from '../../src/pipeline/embedding/cosine';
import type { PrismaService } from '../../src/prisma/prisma.service';
import { uniqueKb } from '../setup/helpers';
import { testPrisma } from '../setup/integration-db';

const vector = (id: string, values: number[], model: string | null = 'm') => ({
  id,
  chunkId: null,
  documentId: null,
  model,
  values,
  metadata: null,
});

describe('FloatArrayVectorRepository (and the kb settings it relies on)', () => {
  let prisma: PrismaService;
  let kbs: KnowledgeBaseRepository;
  let vectors: FloatArrayVectorRepository;
  const kb = uniqueKb('float');
  const otherKb = uniqueKb('float_other');

  beforeAll(() => {
    prisma = testPrisma();
    kbs = new KnowledgeBaseRepository(prisma);
    vectors = new FloatArrayVectorRepository(prisma, kbs);
  });

  afterAll(async () => {
    await prisma.pool.query('DELETE FROM vectors WHERE kb_id = ANY($1)', [[kb, otherKb]]);
    await prisma.pool.query('DELETE FROM knowledge_bases WHERE kb_id = ANY($1)', [[kb, otherKb]]);
    await prisma.onApplicationShutdown();
  });

  it('has no dimension for a kb until its first vectors fix one', async () => {
    expect(await kbs.dimensionOf(kb)).toBeNull();
    await kbs.claimKnowledgeBase(kb, 3, 'm');
    expect(await kbs.dimensionOf(kb)).toBe(3);
    // A later claim with another dimension does not move it: the caller compares and refuses.
    expect((await kbs.claimKnowledgeBase(kb, 5, 'm')).dimension).toBe(3);
  });

  it('ranks the kb’s vectors of one model by exact cosine similarity, best first', async () => {
    const stored = [
      vector('x', [1, 0, 0]),
      vector('xy', [1, 1, 0]),
      vector('y', [0, 1, 0]),
      vector('neg', [-1, 0, 0]),
      vector('other-model', [1, 0, 0], 'n'),
    ];
    expect(await vectors.upsert(kb, stored)).toBe(5);
    await kbs.claimKnowledgeBase(otherKb, 3, 'm');
    await vectors.upsert(otherKb, [vector('elsewhere', [1, 0, 0])]);

    const query = [1, 0.1, 0];
    const hits = await vectors.nearest(kb, 'm', 3, query, 3);
    expect(hits.map((h) => h.vector_id)).toEqual(['x', 'xy', 'y']);
    hits.forEach((hit, i) => {
      expect(hit.score).toBeCloseTo(cosineSimilarity(stored[i].values, query), 5);
    });
    expect(hits[0]).toMatchObject({ chunk_id: null, document_id: null, content: null, source_path: null });
  });

  it('keeps models apart, and vectors stored without a model apart from both', async () => {
    await vectors.upsert(kb, [vector('unnamed', [0, 0, 1], null)]);
    expect((await vectors.nearest(kb, 'n', 3, [1, 0, 0], 10)).map((h) => h.vector_id)).toEqual(['other-model']);
    expect((await vectors.nearest(kb, null, 3, [1, 0, 0], 10)).map((h) => h.vector_id)).toEqual(['unnamed']);
  });

  it('skips a zero vector, whose cosine is undefined, instead of ranking it', async () => {
    await vectors.upsert(kb, [vector('zero', [0, 0, 0])]);
    expect((await vectors.nearest(kb, 'm', 3, [1, 0, 0], 10)).map((h) => h.vector_id)).not.toContain('zero');
  });

  it('has no index to build', async () => {
    expect(await vectors.rebuildIndex()).toEqual({ name: null, action: 'none', synced: 0 });
  });
});
