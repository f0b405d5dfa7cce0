import type { ConfigService } from '@nestjs/config';
import request from 'supertest';
import type { AllConfig } from '../../src/config/app.config';
import { VectorStoreMode } from '../../src/config/env.validation';
import { EmbeddingService } from '../../src/kbs/embedding.service';
import { FloatArrayVectorRepository } from '../../src/kbs/float-array-vector.repository';
import { KnowledgeBaseRepository } from '../../src/kbs/knowledge-base.repository';
import { PgvectorVectorRepository } from '../../src/kbs/pgvector-vector.repository';
import { VectorStoreService } from '../../src/kbs/vector-store.service';
import { createTestApp, TestApp } from '../setup/test-app';

/**
 * The pgvector backend against a real pgvector (PGlite) is in
 * test/integration/pgvector-vector.repository.integration-spec.ts.
 */
/** The machine's PostgreSQL has no pgvector: the real app must pick float arrays and say so. */
describe('Vector store without pgvector (the real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ VECTOR_STORE: 'auto' });
  });

  afterAll(async () => {
    await t.close();
  });

  it('reports the float-array backend with exact cosine search in /health', async () => {
    const [{ installed }] = await t.prisma.$queryRaw<{ installed: boolean }[]>`
      SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') AS installed`;
    expect(installed).toBe(false);
    const res = await request(t.http).get('/health').expect(200);
    expect(res.body.details.vector_store).toMatchObject({
      status: 'healthy',
      backend: 'float_array',
      search: 'exact_cosine',
      mode: 'auto',
      pgvector_installed: false,
      pgvector_version: null,
    });
  });

  it('refuses to start with VECTOR_STORE=pgvector, naming the variable', async () => {
    const config = {
      getOrThrow: (key: string) =>
        ({ database: { url: process.env.DATABASE_URL }, pipeline: { vectorStore: VectorStoreMode.Pgvector } })[
          key as 'database' | 'pipeline'
        ],
    } as unknown as ConfigService<AllConfig, true>;
    const store = new VectorStoreService(
      t.app.get(FloatArrayVectorRepository),
      t.app.get(PgvectorVectorRepository),
      t.app.get(KnowledgeBaseRepository),
      t.app.get(EmbeddingService),
      config,
    );
    await expect(store.onModuleInit()).rejects.toThrow(
      'VECTOR_STORE=pgvector, but this PostgreSQL has no vector extension to install',
    );
  });
});
