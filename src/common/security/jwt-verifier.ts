import { createHmac, createPublicKey, KeyObject, timingSafeEqual, verify } from 'node:crypto';

export const JWT_ALGORITHMS = ['HS256', 'RS256', 'ES256'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export interface JwtVerifierOptions {
  /** The one algorithm tokens must name; any other `alg` (including `none`) is refused. */
  algorithm: JwtAlgorithm;
  /** HS256 shared secret. */
  secret?: string;
  /** RS256/ES256 public key, PEM. */
  publicKey?: string;
  issuer?: string;
  audience?: string;
  clockSkewSeconds: number;
}

/** Why a token was refused; `reason` is safe to show the caller. */
export class JwtError extends Error {
  constructor(readonly reason: string) {
    super(`Invalid token: ${reason}`);
    this.name = 'JwtError';
  }
}

export const MIN_JWT_SECRET_LENGTH = 32;
const MAX_TOKEN_LENGTH = 8192;
const SEGMENT = /^[A-Za-z0-9_-]+$/;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** A bearer value that has the compact JWS shape (three base64url segments) rather than an opaque API key. */
export function looksLikeJwt(token: string): boolean {
  return token.length <= MAX_TOKEN_LENGTH && token.startsWith('eyJ') && JWT_SHAPE.test(token);
}

/**
 * JWT (compact JWS) verification with node:crypto only: the signature with the configured
 * algorithm and key — the token's `alg` must equal the configured one exactly, so neither
 * `none` nor an HS256 token "signed" with the RSA public key can pass —, then `exp`
 * (required), `nbf` and `iat` with a small clock skew, and `iss`/`aud` when configured.
 */
export class JwtVerifier {
  private readonly algorithm: JwtAlgorithm;
  private readonly secret?: Buffer;
  private readonly publicKey?: KeyObject;

  constructor(private readonly options: JwtVerifierOptions) {
    this.algorithm = options.algorithm;
    if (this.algorithm === 'HS256') {
      if (!options.secret || options.secret.length < MIN_JWT_SECRET_LENGTH) {
        throw new Error(`HS256 needs a secret of at least ${MIN_JWT_SECRET_LENGTH} characters`);
      }
      this.secret = Buffer.from(options.secret, 'utf8');
      return;
    }
    if (!options.publicKey) throw new Error(`${this.algorithm} needs a PEM public key`);
    this.publicKey = parsePublicKey(options.publicKey);
    assertKeyFits(this.algorithm, this.publicKey);
  }

  /** The token's claims, or a JwtError naming what is wrong. */
  verify(token: string, nowSeconds = Date.now() / 1000): Record<string, unknown> {
    if (token.length > MAX_TOKEN_LENGTH) throw new JwtError('too long');
    const parts = token.split('.');
    if (parts.length !== 3 || !parts.every((p) => SEGMENT.test(p))) throw new JwtError('malformed');
    const [encodedHeader, encodedPayload, encodedSignature] = parts;
    const header = decodeJson(encodedHeader, 'header');
    if (header.alg !== this.algorithm) throw new JwtError(`algorithm must be ${this.algorithm}`);
    if (header.crit !== undefined) throw new JwtError('unsupported critical header');
    const signingInput = Buffer.from(`${encodedHeader}.${encodedPayload}`, 'ascii');
    if (!this.signatureValid(signingInput, Buffer.from(encodedSignature, 'base64url')))
      throw new JwtError('bad signature');

    const claims = decodeJson(encodedPayload, 'payload');
    const skew = this.options.clockSkewSeconds;
    if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) throw new JwtError('exp claim is required');
    if (nowSeconds > claims.exp + skew) throw new JwtError('expired');
    if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || nowSeconds + skew < claims.nbf))
      throw new JwtError('not valid yet');
    if (claims.iat !== undefined && (typeof claims.iat !== 'number' || claims.iat > nowSeconds + skew))
      throw new JwtError('issued in the future');
    if (this.options.issuer !== undefined && claims.iss !== this.options.issuer) throw new JwtError('wrong issuer');
    if (this.options.audience !== undefined && !audienceMatches(claims.aud, this.options.audience))
      throw new JwtError('wrong audience');
    return claims;
  }

  private signatureValid(input: Buffer, signature: Buffer): boolean {
    switch (this.algorithm) {
      case 'HS256': {
        const expected = createHmac('sha256', this.secret!).update(input).digest();
        return signature.length === expected.length && timingSafeEqual(signature, expected);
      }
      case 'RS256':
        return verify('sha256', input, this.publicKey!, signature);
      case 'ES256':
        // JWS carries the raw r||s pair (64 bytes), not DER.
        return (
          signature.length === 64 &&
          verify('sha256', input, { key: this.publicKey!, dsaEncoding: 'ieee-p1363' }, signature)
        );
    }
  }
}

/** Env files often carry a PEM on one line with literal `\n`s. */
export function parsePublicKey(pem: string): KeyObject {
  const text = pem.includes('\\n') ? pem.replace(/\\n/g, '\n') : pem;
  const key = createPublicKey(text);
  if (key.type !== 'public') throw new Error('not a public key');
  return key;
}

/** The algorithm a public key is for: RS256 for RSA, ES256 for P-256. */
export function algorithmForKey(key: KeyObject): JwtAlgorithm {
  return key.asymmetricKeyType === 'ec' ? 'ES256' : 'RS256';
}

function assertKeyFits(algorithm: JwtAlgorithm, key: KeyObject): void {
  const details = key.asymmetricKeyDetails ?? {};
  if (algorithm === 'RS256') {
    if (key.asymmetricKeyType !== 'rsa') throw new Error(`RS256 needs an RSA public key, got ${key.asymmetricKeyType}`);
    if ((details.modulusLength ?? 0) < 2048) throw new Error('RS256 needs an RSA key of at least 2048 bits');
  }
  if (algorithm === 'ES256' && (key.asymmetricKeyType !== 'ec' || details.namedCurve !== 'prime256v1')) {
    throw new Error('ES256 needs an EC P-256 (prime256v1) public key');
  }
}

function decodeJson(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw new JwtError(`${what} is not JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new JwtError(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

function audienceMatches(aud: unknown, expected: string): boolean {
  return aud === expected || (Array.isArray(aud) && aud.includes(expected));
}
