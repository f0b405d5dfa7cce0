import type { AddressInfo } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite/vector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { Logger } from '@nestjs/common';
import type { AllConfig } from '../../src/config/app.config';
import { VectorStoreMode } from '../../src/config/env.validation';
import { Prisma } from '../../src/generated/prisma/client';
import { EmbeddingService } from '../../src/kbs/embedding.service';
import type { StageContext } from '../../src/kbs/embedding.service';
import { FloatArrayVectorRepository } from '../../src/kbs/float-array-vector.repository';
import { IndexingService } from '../../src/kbs/indexing.service';
import { KnowledgeBaseRepository } from '../../src/kbs/knowledge-base.repository';
import { PgvectorVectorRepository } from '../../src/kbs/pgvector-vector.repository';
import { SearchService } from '../../src/kbs/search.service';
import { VectorStoreService } from '../../src/kbs/vector-store.service';
import { cosineSimilarity } from '../../src/pipeline/embedding/cosine';
import { HashingEmbedder } from '../../src/pipeline/embedding/hashing-embedder';
import { PrismaService } from '../../src/prisma/prisma.service';
import { uniqueKb } from '../setup/helpers';
import { testConfig } from '../setup/integration-db';
import { migrateInChildProcess } from '../setup/processes';

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomVectors(count: number, dimension: number, seed: number): { id: string; values: number[] }[] {
  const next = random(seed);
  return Array.from({ length: count }, (_, i) => ({
    id: `v${i}`,
    values: Array.from({ length: dimension }, () => next() * 2 - 1),
  }));
}

/** Float32 round trip: what PostgreSQL's real[] and vector store. */
const asStored = (values: number[]) => Array.from(Float32Array.from(values));

/** The exact answer: every stored vector ranked by cosine similarity to `query`, computed in JS. */
function exactNearest(vectors: { id: string; values: number[] }[], query: number[], limit: number) {
  return vectors
    .map((v) => ({ id: v.id, score: cosineSimilarity(asStored(v.values), query) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, limit);
}

/**
 * PGlite compiles its WebAssembly PostgreSQL on start: a few seconds when the machine is idle,
 * but 78 s was measured while other suites loaded both cores, beyond the default hook timeout.
 */
const PGLITE_START_TIMEOUT_MS = 240_000;

const ctx = (kbId: string): StageContext => ({
  kbId,
  signal: new AbortController().signal,
  reportProgress: async () => undefined,
});

/**
 * The pgvector backend against a real pgvector: PGlite (PostgreSQL compiled to WebAssembly,
 * shipping pgvector) served over the PostgreSQL wire protocol, so the backend's own SQL goes
 * through Prisma's node-postgres adapter and a pg client exactly as in production. The
 * schema is the project's own: the Prisma migrations are applied to it.
 */
describe('Vector store on pgvector (PGlite)', () => {
  let db: PGlite;
  let server: PGLiteSocketServer;
  let url: string;
  let prisma: PrismaService;
  let repository: KnowledgeBaseRepository;
  let floatArray: FloatArrayVectorRepository;
  let pgvector: PgvectorVectorRepository;
  let embeddings: EmbeddingService;
  const embedder = new HashingEmbedder({ dimension: 64 });

  const configFor = (mode: VectorStoreMode) =>
    testConfig({ pipeline: { vectorStore: mode } as AllConfig['pipeline'] }, url);

  /** A VectorStoreService as start-up builds it, for a VECTOR_STORE value. */
  const startStore = async (mode: VectorStoreMode) => {
    const store = new VectorStoreService(floatArray, pgvector, repository, embeddings, configFor(mode));
    await store.onModuleInit();
    return store;
  };

  beforeAll(async () => {
    // The services here are built by hand, outside an app whose logger would be set to errors only.
    Logger.overrideLogger(['error']);
    db = await PGlite.create({ extensions: { vector } });
    server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 });
    await server.start();
    const { port } = (server as unknown as { server: { address(): AddressInfo } }).server.address();
    url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
    await migrateInChildProcess(url);
    prisma = new PrismaService(configFor(VectorStoreMode.Auto));
    repository = new KnowledgeBaseRepository(prisma);
    floatArray = new FloatArrayVectorRepository(prisma, repository);
    pgvector = new PgvectorVectorRepository(prisma, repository, configFor(VectorStoreMode.Auto));
    embeddings = new EmbeddingService(repository, embedder);
  }, PGLITE_START_TIMEOUT_MS);

  afterAll(async () => {
    await prisma?.$disconnect();
    await server?.stop();
    await db?.close();
  });

  describe('choosing the backend at start-up', () => {
    it('stays on float arrays in auto mode while pgvector is only available, not installed', async () => {
      const store = await startStore(VectorStoreMode.Auto);
      expect(await store.describe()).toMatchObject({
        backend: 'float_array',
        search: 'exact_cosine',
        mode: 'auto',
        pgvector_installed: false,
        pgvector_available: true,
      });
    });

    it('creates the extension and the embedding column when VECTOR_STORE=pgvector', async () => {
      const store = await startStore(VectorStoreMode.Pgvector);
      expect(await store.describe()).toMatchObject({
        backend: 'pgvector',
        search: 'hnsw_cosine',
        mode: 'pgvector',
        pgvector_installed: true,
      });
      const [column] = await prisma.$queryRaw<{ udt_name: string }[]>`
        SELECT udt_name FROM information_schema.columns WHERE table_name = 'vectors' AND column_name = 'embedding'`;
      expect(column.udt_name).toBe('vector');
    });

    it('picks pgvector in auto mode once the extension is installed, and preparing again changes nothing', async () => {
      const store = await startStore(VectorStoreMode.Auto);
      const info = await store.describe();
      expect(info).toMatchObject({ backend: 'pgvector', search: 'hnsw_cosine', pgvector_installed: true });
      expect(info.pgvector_version).toMatch(/^\d+\.\d+/);
      expect(await pgvector.ensureEmbeddingColumn()).toEqual({ columnAdded: false, backfilled: 0 });
    });

    it('honours VECTOR_STORE=float_array even where pgvector is installed', async () => {
      const store = await startStore(VectorStoreMode.FloatArray);
      expect(await store.describe()).toMatchObject({ backend: 'float_array', pgvector_installed: true });
    });
  });

  describe('storing, indexing and searching two kbs of different dimensions', () => {
    const kbA = uniqueKb('pgv_a');
    const kbB = uniqueKb('pgv_b');
    const vectorsA = randomVectors(1000, 24, 1);
    const vectorsB = randomVectors(300, 7, 2);
    let store: VectorStoreService;
    let indexing: IndexingService;

    beforeAll(async () => {
      store = await startStore(VectorStoreMode.Auto);
      indexing = new IndexingService(repository, store);
    });

    it('stores each kb at its own dimension in the vector column', async () => {
      const a = await store.store({ vectors: vectorsA, model: 'external-24d' }, ctx(kbA));
      const b = await store.store({ vectors: vectorsB, model: 'external-7d' }, ctx(kbB));
      expect(a).toMatchObject({ stored: 1000, dimension: 24, backend: 'pgvector' });
      expect(b).toMatchObject({ stored: 300, dimension: 7, backend: 'pgvector' });
      const rows = await prisma.$queryRaw<{ kb_id: string; n: number; dims: number }[]>`
        SELECT kb_id, count(*)::int AS n, max(vector_dims(embedding))::int AS dims
        FROM vectors WHERE kb_id IN (${kbA}, ${kbB}) AND embedding IS NOT NULL GROUP BY kb_id ORDER BY kb_id`;
      expect(rows).toEqual([
        { kb_id: kbA, n: 1000, dims: 24 },
        { kb_id: kbB, n: 300, dims: 7 },
      ]);
    });

    it('refuses vectors of another dimension than the kb has', async () => {
      await expect(
        store.store({ vectors: [{ id: 'wrong', values: [1, 2, 3, 4, 5, 6, 7] }] }, ctx(kbA)),
      ).rejects.toThrow(`Knowledge base ${kbA} stores 24-dimensional vectors; got 7`);
      expect(await prisma.vector.count({ where: { kbId: kbA, id: 'wrong' } })).toBe(0);
    });

    it('knowledge_indexing builds one HNSW cosine index per kb, and rebuilds it when run again', async () => {
      const first = await indexing.rebuild({}, ctx(kbA));
      expect(first).toMatchObject({
        vectors: 1000,
        vector_index: 'pgvector (hnsw_cosine)',
        vector_index_action: 'created',
      });
      expect((await indexing.rebuild({}, ctx(kbB))).vector_index_action).toBe('created');
      expect((await indexing.rebuild({}, ctx(kbA))).vector_index_action).toBe('rebuilt');
      const indexes = await prisma.$queryRaw<{ indexname: string; indexdef: string }[]>`
        SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'vectors' AND indexdef LIKE '%hnsw%'`;
      const forA = indexes.find((i) => i.indexname === first.vector_index_name);
      expect(forA?.indexdef).toContain('USING hnsw (((embedding)::vector(24)) vector_cosine_ops)');
      expect(forA?.indexdef).toContain(`WHERE ((kb_id)::text = '${kbA}'::text)`);
      expect(indexes.find((i) => i.indexdef.includes(`'${kbB}'`))?.indexdef).toContain('vector(7)');
    });

    it("serves the kb's search query from its HNSW index", async () => {
      const backend = (await store.backend()) as PgvectorVectorRepository;
      const query = backend.nearestQuery(kbA, 'external-24d', 24, vectorsA[0].values, 10);
      const plan = (await prisma.$queryRaw<{ 'QUERY PLAN': string }[]>(Prisma.sql`EXPLAIN ${query}`))
        .map((row) => row['QUERY PLAN'])
        .join('\n');
      const [{ name }] = await prisma.$queryRaw<{ name: string }[]>`
        SELECT indexname AS name FROM pg_indexes WHERE tablename = 'vectors' AND indexdef LIKE ${`%'${kbA}'%`}`;
      expect(plan).toContain(`Index Scan using ${name} on vectors`);
    });

    it('finds what an exact cosine computed in JS finds, the queried vector first', async () => {
      for (const probe of [0, 17, 512, 999]) {
        const query = asStored(vectorsA[probe].values);
        const hits = await store.nearest(kbA, 'external-24d', 24, query, 10);
        const exact = exactNearest(vectorsA, query, 10);
        expect(hits[0].vector_id).toBe(`v${probe}`);
        expect(hits.map((h) => h.vector_id)).toEqual(exact.map((e) => e.id));
        hits.forEach((hit, i) => {
          expect(hit.score).toBeCloseTo(exact[i].score, 5);
        });
      }
      const elsewhere = randomVectors(1, 7, 99)[0].values;
      const hitsB = await store.nearest(kbB, 'external-7d', 7, elsewhere, 5);
      expect(hitsB.map((h) => h.vector_id)).toEqual(exactNearest(vectorsB, elsewhere, 5).map((e) => e.id));
    });

    it('returns as many hits as asked beyond pgvector’s default ef_search of 40', async () => {
      const hits = await store.nearest(kbA, 'external-24d', 24, vectorsA[3].values, 100);
      expect(hits).toHaveLength(100);
      expect(new Set(hits.map((h) => h.vector_id)).size).toBe(100);
    });

    it('fills in vectors written by a float-array process before indexing them', async () => {
      await prisma.$executeRaw`UPDATE vectors SET embedding = NULL WHERE kb_id = ${kbB} AND id IN ('v1', 'v2')`;
      const result = await indexing.rebuild({}, ctx(kbB));
      expect(result).toMatchObject({ vectors_synced: 2, vector_index_action: 'rebuilt' });
      expect((await store.nearest(kbB, 'external-7d', 7, vectorsB[2].values, 1))[0].vector_id).toBe('v2');
    });
  });

  describe('the document pipeline on pgvector', () => {
    const kb = uniqueKb('pgv_doc');
    const texts = [
      'saffron lighthouse keeps the harbour bright',
      'velvet thunderstorm over the copper hills',
      'obsidian carousel turning at midnight',
    ];

    it('embeds, stores, indexes and finds a chunk by vector and hybrid search', async () => {
      const store = await startStore(VectorStoreMode.Auto);
      const indexing = new IndexingService(repository, store);
      const search = new SearchService(repository, embeddings, store);
      const taskId = '00000000-0000-4000-8000-000000000001';
      const document = await repository.replaceDocument(
        {
          id: '11111111-1111-4111-8111-111111111111',
          kbId: kb,
          sourcePath: 'notes.txt',
          format: 'txt',
          contentHash: 'x'.repeat(64),
          characters: texts.join(' ').length,
          pages: null,
          chunkSize: 100,
          chunkOverlap: 0,
          metadata: null,
          taskId,
        },
        texts.map((content, index) => ({ index, content, start: 0, end: content.length })),
      );
      if (!document) throw new Error('the document id was free');
      await embeddings.embedChunks({ document_id: document.id }, ctx(kb));
      expect(await store.store({ document_id: document.id }, ctx(kb))).toMatchObject({
        stored: 3,
        dimension: 64,
        backend: 'pgvector',
      });
      const indexed = await indexing.rebuild({ document_id: document.id }, ctx(kb));
      expect(indexed).toMatchObject({ chunks: 3, vectors: 3, vector_index_action: 'created' });
      expect((await indexing.rebuild({ document_id: document.id }, ctx(kb))).vector_index_action).toBe('kept');

      const vectorHits = await search.search(kb, texts[1], 'vector', 3);
      expect(vectorHits[0]).toMatchObject({ content: texts[1], chunk_index: 1, source_path: 'notes.txt' });
      expect(vectorHits[0].score).toBeCloseTo(1, 5);
      const hybrid = await search.search(kb, 'velvet thunderstorm', 'hybrid', 3);
      expect(hybrid[0]).toMatchObject({ chunk_index: 1, fulltext_rank: 1, vector_rank: 1 });

      // A vector of another kb naming this kb's chunk (as vector_storage could store before it checked chunk ids):
      // its search joins only its own kb's chunks and documents, so this kb's text stays out of it.
      const otherKb = uniqueKb('pgv_other');
      const [chunk] = await repository.findChunks(document);
      const [values] = await embedder.embed([chunk.content]);
      await repository.claimKnowledgeBase(otherKb, 64, embedder.model);
      await repository.upsertVectors(
        otherKb,
        [{ id: 'foreign', chunkId: chunk.id, documentId: document.id, model: embedder.model, values, metadata: null }],
        { pgvector: true },
      );
      const [foreign] = await store.nearest(otherKb, embedder.model, 64, values, 1);
      expect(foreign).toMatchObject({ vector_id: 'foreign', chunk_id: chunk.id, content: null, source_path: null });
    });
  });
});
