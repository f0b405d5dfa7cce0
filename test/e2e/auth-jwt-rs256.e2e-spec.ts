import { generateKeyPairSync, KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { AppRole } from '../../src/config/env.validation';
import { call, claims, signJwt } from '../setup/auth-helpers';
import { createTestApp, TestApp, uniqueKb } from '../setup/test-app';

/**
 * JWTs verified with a public key (RS256) and nothing else configured: the role claim
 * decides, issuer and audience are enforced, and a token cannot choose its algorithm —
 * neither `none` nor HS256 keyed with the public key (the classic alg confusion) passes.
 * With METRICS_REQUIRE_AUTH and DOCS_REQUIRE_AUTH unset, /metrics and /docs stay public.
 */
describe('JWT with an RS256 public key (e2e)', () => {
  let t: TestApp;
  let base: string;
  let privateKey: KeyObject;
  let publicPem: string;
  const kb = uniqueKb('rs256');
  const issuer = 'https://issuer.example.com';
  const audience = 'task-manager';
  const token = (role: string, extra: Record<string, unknown> = {}, key = privateKey) =>
    signJwt(claims(role, { iss: issuer, aud: audience, ...extra }), { alg: 'RS256', privateKey: key });
  const get = (path: string, bearer?: string) =>
    call(base, 'GET', path, { headers: bearer ? { Authorization: `Bearer ${bearer}` } : {} });

  beforeAll(async () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    privateKey = pair.privateKey;
    publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    t = await createTestApp(
      // One line with literal \n, as env files carry a PEM.
      { JWT_PUBLIC_KEY: publicPem.trim().replace(/\n/g, '\\n'), JWT_ISSUER: issuer, JWT_AUDIENCE: audience },
      AppRole.Api,
    );
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await t.close();
  });

  it('accepts a token signed with the private key and applies its role', async () => {
    expect((await get(`/api/v1/tasks?kb_id=${kb}`, token('read'))).status).toBe(200);
    const created = await call(base, 'POST', '/api/v1/tasks', {
      headers: { Authorization: `Bearer ${token('read')}` },
      json: { task_type: 'health_check', kb_id: kb, payload: {} },
    });
    expect(created.status).toBe(403);
    expect(created.body.code).toBe('FORBIDDEN');
    expect((await get('/api/v1/stats/system', token('admin'))).status).toBe(200);
  });

  it('accepts an audience list that includes this service', async () => {
    expect((await get(`/api/v1/tasks?kb_id=${kb}`, token('read', { aud: ['other', audience] }))).status).toBe(200);
  });

  it.each([
    [
      'signed by another key',
      () => token('admin', {}, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey),
      'bad signature',
    ],
    [
      'HS256 keyed with the public key (alg confusion)',
      () => signJwt(claims('admin', { iss: issuer, aud: audience }), { alg: 'HS256', secret: publicPem }),
      'algorithm must be RS256',
    ],
    [
      'alg none, unsigned',
      () => `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${token('admin').split('.')[1]}.`,
      'malformed',
    ],
    [
      'alg none, with a signature',
      () => signJwt(claims('admin', { iss: issuer, aud: audience }), { alg: 'RS256', privateKey }, { alg: 'none' }),
      'algorithm must be RS256',
    ],
    ['from another issuer', () => token('admin', { iss: 'https://evil.example.com' }), 'wrong issuer'],
    ['for another audience', () => token('admin', { aud: 'someone-else' }), 'wrong audience'],
    ['expired', () => token('admin', { exp: Math.floor(Date.now() / 1000) - 3600 }), 'expired'],
  ])('refuses a token %s with 401', async (_label, make, reason) => {
    const res = await get('/api/v1/stats/system', make());
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'UNAUTHORIZED', details: { reason } });
  });

  it('refuses an opaque bearer value: no API keys are configured', async () => {
    expect((await get(`/api/v1/tasks?kb_id=${kb}`, 'some-api-key')).status).toBe(401);
    expect(
      (await call(base, 'GET', `/api/v1/tasks?kb_id=${kb}`, { headers: { 'X-API-Key': token('admin') } })).status,
    ).toBe(401);
  });

  it('leaves /metrics, /docs and the health probes open by default', async () => {
    for (const path of ['/metrics', '/docs', '/docs-json', '/health/live'])
      expect({ path, status: (await get(path)).status }).toEqual({ path, status: 200 });
    expect((await get('/api/v1/queues')).status).toBe(401);
  });
});
