import { createHmac, generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import { JwtError, JwtVerifier, looksLikeJwt } from './jwt-verifier';

const NOW = 1_800_000_000;
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function hs256(claims: object, secret: string, header: object = { alg: 'HS256', typ: 'JWT' }): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function asymmetric(alg: 'RS256' | 'ES256', claims: object, key: KeyObject, header: object = { alg }): string {
  const input = `${b64(header)}.${b64(claims)}`;
  const signature =
    alg === 'RS256'
      ? sign('sha256', Buffer.from(input), key)
      : sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof JwtError) return error.reason;
    throw error;
  }
  return 'accepted';
}

describe('JwtVerifier', () => {
  const secret = 'a-test-secret-that-is-long-enough-1234';
  const claims = { sub: 'svc', role: 'read', exp: NOW + 60 };
  const hs = new JwtVerifier({ algorithm: 'HS256', secret, clockSkewSeconds: 30 });

  it('accepts a valid HS256 token and returns its claims', () => {
    expect(hs.verify(hs256(claims, secret), NOW)).toEqual(claims);
  });

  it.each([
    ['another secret', () => hs256(claims, `${secret}x`), 'bad signature'],
    ['alg none', () => hs256(claims, secret, { alg: 'none' }), 'algorithm must be HS256'],
    ['alg none, empty signature', () => `${b64({ alg: 'none' })}.${b64(claims)}.`, 'malformed'],
    ['alg HS512', () => hs256(claims, secret, { alg: 'HS512' }), 'algorithm must be HS256'],
    ['lower-case alg', () => hs256(claims, secret, { alg: 'hs256' }), 'algorithm must be HS256'],
    ['a crit header', () => hs256(claims, secret, { alg: 'HS256', crit: ['exp'] }), 'unsupported critical header'],
    ['two segments', () => hs256(claims, secret).split('.').slice(0, 2).join('.'), 'malformed'],
    ['four segments', () => `${hs256(claims, secret)}.x`, 'malformed'],
    ['padding in a segment', () => `${hs256(claims, secret)}=`, 'malformed'],
    ['a header that is not JSON', () => `bm90IGpzb24.${b64(claims)}.c2ln`, 'header is not JSON'],
    ['a payload that is an array', () => hs256([1, 2], secret), 'payload is not a JSON object'],
    ['no exp', () => hs256({ role: 'read' }, secret), 'exp claim is required'],
    ['exp as a string', () => hs256({ role: 'read', exp: String(NOW + 60) }, secret), 'exp claim is required'],
    ['exp past the skew', () => hs256({ role: 'read', exp: NOW - 31 }, secret), 'expired'],
    ['nbf ahead of the skew', () => hs256({ ...claims, nbf: NOW + 31 }, secret), 'not valid yet'],
    ['iat in the future', () => hs256({ ...claims, iat: NOW + 120 }, secret), 'issued in the future'],
    ['a huge token', () => `${hs256(claims, secret)}${'A'.repeat(9000)}`, 'too long'],
  ])('refuses a token with %s', (_label, make, expected) => {
    expect(reason(() => hs.verify(make(), NOW))).toBe(expected);
  });

  it('allows the clock skew on exp and nbf', () => {
    expect(reason(() => hs.verify(hs256({ role: 'read', exp: NOW - 29, nbf: NOW + 29 }, secret), NOW))).toBe(
      'accepted',
    );
  });

  it('checks issuer and audience when configured', () => {
    const strict = new JwtVerifier({ algorithm: 'HS256', secret, issuer: 'idp', audience: 'tm', clockSkewSeconds: 0 });
    expect(reason(() => strict.verify(hs256({ ...claims, iss: 'idp', aud: 'tm' }, secret), NOW))).toBe('accepted');
    expect(reason(() => strict.verify(hs256({ ...claims, iss: 'idp', aud: ['x', 'tm'] }, secret), NOW))).toBe(
      'accepted',
    );
    expect(reason(() => strict.verify(hs256({ ...claims, iss: 'other', aud: 'tm' }, secret), NOW))).toBe(
      'wrong issuer',
    );
    expect(reason(() => strict.verify(hs256({ ...claims, iss: 'idp' }, secret), NOW))).toBe('wrong audience');
  });

  it('refuses a short HS256 secret at construction', () => {
    expect(() => new JwtVerifier({ algorithm: 'HS256', secret: 'short', clockSkewSeconds: 0 })).toThrow(/at least 32/);
  });

  describe('RS256', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const rs = new JwtVerifier({ algorithm: 'RS256', publicKey: pem, clockSkewSeconds: 0 });

    it('accepts a token signed with the private key', () => {
      expect(rs.verify(asymmetric('RS256', claims, privateKey), NOW)).toEqual(claims);
    });

    it('refuses HS256 keyed with the public key (algorithm confusion) and alg none', () => {
      expect(reason(() => rs.verify(hs256(claims, pem, { alg: 'HS256' }), NOW))).toBe('algorithm must be RS256');
      expect(reason(() => rs.verify(asymmetric('RS256', claims, privateKey, { alg: 'none' }), NOW))).toBe(
        'algorithm must be RS256',
      );
    });

    it('refuses a token signed by another key, or tampered with', () => {
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      expect(reason(() => rs.verify(asymmetric('RS256', claims, other), NOW))).toBe('bad signature');
      const [h, , s] = asymmetric('RS256', claims, privateKey).split('.');
      expect(reason(() => rs.verify(`${h}.${b64({ ...claims, role: 'admin' })}.${s}`, NOW))).toBe('bad signature');
    });

    it('refuses keys that do not fit the algorithm', () => {
      const small = generateKeyPairSync('rsa', { modulusLength: 1024 })
        .publicKey.export({ type: 'spki', format: 'pem' })
        .toString();
      expect(() => new JwtVerifier({ algorithm: 'RS256', publicKey: small, clockSkewSeconds: 0 })).toThrow(/2048/);
      expect(() => new JwtVerifier({ algorithm: 'ES256', publicKey: pem, clockSkewSeconds: 0 })).toThrow(/P-256/);
    });
  });

  describe('ES256', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const es = new JwtVerifier({
      algorithm: 'ES256',
      publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      clockSkewSeconds: 0,
    });

    it('accepts a JWS (r||s) signature and refuses a DER one or another key', () => {
      expect(es.verify(asymmetric('ES256', claims, privateKey), NOW)).toEqual(claims);
      const input = `${b64({ alg: 'ES256' })}.${b64(claims)}`;
      const der = sign('sha256', Buffer.from(input), privateKey).toString('base64url');
      expect(reason(() => es.verify(`${input}.${der}`, NOW))).toBe('bad signature');
      const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      expect(reason(() => es.verify(asymmetric('ES256', claims, other), NOW))).toBe('bad signature');
    });
  });

  it('tells JWTs from opaque keys', () => {
    expect(looksLikeJwt(hs256(claims, secret))).toBe(true);
    expect(looksLikeJwt('tm_reader_3q2+7w')).toBe(false);
    expect(looksLikeJwt('a.b.c')).toBe(false);
  });
});
