import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { renderApiMarkdown } from '../../scripts/lib/openapi-markdown';
import { createTestApp, TestApp } from '../setup/test-app';

/** docs/api.md is the contract kept in the repository: it must say what the service serves. */
describe('docs/api.md (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('is what `npm run docs:api` writes from the live /docs-json (run it after changing the API)', async () => {
    const document = (await request(t.http).get('/docs-json').expect(200)).body;
    const committed = readFileSync(path.join(__dirname, '..', '..', 'docs', 'api.md'), 'utf8');
    // Compared whole, so a stale page fails here rather than misleading a reader.
    expect(committed).toBe(renderApiMarkdown(document));
  });
});
