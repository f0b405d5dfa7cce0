import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { UnauthorizedError } from '../common/errors/domain.error';
import { JwtError, JwtVerifier, looksLikeJwt } from '../common/security/jwt-verifier';
import { Principal, setPrincipal } from '../common/security/principal';
import { isRole } from '../common/security/roles';
import { KB_ID_PATTERN } from '../common/utils/id-patterns';
import { ApiKeyEntry } from '../config/api-keys';
import type { AllConfig } from '../config/app.config';

/** What authentication reads of a request: Fastify's request (the API, the pages' hooks) or Node's. */
export interface CallerRequest {
  headers: IncomingHttpHeaders;
  /** The client address the HTTP framework resolved (TRUST_PROXY decides whose X-Forwarded-For counts). */
  ip?: string;
  socket?: { remoteAddress?: string };
}

/** Who sent a request: a verified caller, nobody (no credentials), or a credential that failed. */
export type Identity = { principal: Principal } | { anonymous: true } | { error: UnauthorizedError };

/** The challenge browsers answer with a login prompt: the password is an API key or a token. */
export const BASIC_CHALLENGE = 'Basic realm="task-manager", charset="UTF-8"';
const MAX_CREDENTIAL_LENGTH = 8192;

interface StoredKey {
  entry: ApiKeyEntry;
  digest: Buffer;
}

/**
 * Turns a request's credentials into a Principal. Accepted: `X-API-Key: <key>`,
 * `Authorization: Bearer <key or JWT>`, and `Authorization: Basic` whose password is a key
 * or JWT (so browsers can open the dashboard and Bull Board). API keys are compared as
 * SHA-256 digests with timingSafeEqual against every configured key, so neither the
 * comparison nor the lookup leaks how much of a key matched. The outcome is remembered per
 * request, so the rate limiter, the guard and the browser middleware verify once.
 */
@Injectable()
export class Authenticator {
  readonly enabled: boolean;
  private readonly keys: StoredKey[];
  private readonly jwt: JwtVerifier | null;
  private readonly outcomes = new WeakMap<object, Identity>();

  constructor(config: ConfigService<AllConfig, true>) {
    const auth = config.getOrThrow('auth', { infer: true });
    this.enabled = auth.enabled;
    this.keys = auth.apiKeys.map((entry) => ({ entry, digest: Buffer.from(entry.sha256, 'hex') }));
    this.jwt = auth.jwt ? new JwtVerifier(auth.jwt) : null;
  }

  identify(request: CallerRequest): Identity {
    const known = this.outcomes.get(request);
    if (known) return known;
    const identity = this.resolve(request);
    this.outcomes.set(request, identity);
    if ('principal' in identity) setPrincipal(request, identity.principal);
    return identity;
  }

  /** The request's caller, or throws 401 (with `challenge` as WWW-Authenticate). */
  require(request: CallerRequest, challenge?: string): Principal {
    const identity = this.identify(request);
    if ('principal' in identity) return identity.principal;
    if ('error' in identity)
      throw challenge
        ? new UnauthorizedError(identity.error.message, identity.error.details, challenge)
        : identity.error;
    throw new UnauthorizedError(
      'Authentication required: send an API key (X-API-Key or Authorization: Bearer) or a bearer JWT',
      {},
      challenge,
    );
  }

  private resolve(request: CallerRequest): Identity {
    const apiKeyHeader = request.headers['x-api-key'];
    const authorization = request.headers.authorization;
    if (apiKeyHeader === undefined && authorization === undefined) return { anonymous: true };
    if (apiKeyHeader !== undefined && authorization !== undefined) {
      return invalid('Send one credential: X-API-Key or Authorization, not both');
    }
    if (apiKeyHeader !== undefined) {
      return typeof apiKeyHeader === 'string'
        ? this.fromCredential(apiKeyHeader.trim(), false)
        : invalid('Invalid credentials');
    }
    const match = /^(\S+)\s+(\S+)\s*$/.exec(authorization ?? '');
    const scheme = match?.[1].toLowerCase();
    if (scheme === 'bearer') return this.fromCredential(match![2], true);
    if (scheme === 'basic') {
      const decoded = Buffer.from(match![2], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon < 0 ? invalid('Invalid credentials') : this.fromCredential(decoded.slice(colon + 1), true);
    }
    return invalid('Unsupported Authorization scheme: use Bearer (API key or JWT) or X-API-Key');
  }

  private fromCredential(credential: string, mayBeJwt: boolean): Identity {
    if (credential === '' || credential.length > MAX_CREDENTIAL_LENGTH) return invalid('Invalid credentials');
    if (mayBeJwt && this.jwt && looksLikeJwt(credential)) return this.fromJwt(credential);
    const digest = createHash('sha256').update(credential, 'utf8').digest();
    let found: ApiKeyEntry | null = null;
    // Every key is compared, matched or not, so timing does not tell which one matched.
    for (const key of this.keys) if (timingSafeEqual(digest, key.digest) && !found) found = key.entry;
    if (!found) return invalid('Invalid credentials');
    return { principal: { id: `key:${found.name}`, role: found.role, kbIds: found.kbIds, via: 'api-key' } };
  }

  private fromJwt(token: string): Identity {
    let claims: Record<string, unknown>;
    try {
      claims = this.jwt!.verify(token);
    } catch (error) {
      if (error instanceof JwtError) return invalid(error.message, { reason: error.reason });
      throw error;
    }
    if (!isRole(claims.role))
      return invalid('Invalid token: role claim must be read, write, worker or admin', { reason: 'role' });
    const kbIds = claims.kb_ids;
    if (kbIds !== undefined && kbIds !== null && !validKbIds(kbIds)) {
      return invalid('Invalid token: kb_ids claim must be a non-empty array of kb ids', { reason: 'kb_ids' });
    }
    const subject =
      typeof claims.sub === 'string' && claims.sub !== ''
        ? claims.sub
        : `token-${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
    return {
      principal: {
        id: `jwt:${subject}`,
        role: claims.role,
        kbIds: kbIds ?? null,
        via: 'jwt',
      },
    };
  }
}

function invalid(message: string, details: Record<string, unknown> = {}): Identity {
  return { error: new UnauthorizedError(message, details) };
}

function validKbIds(value: unknown): value is string[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((kb) => typeof kb === 'string' && kb.length <= 128 && KB_ID_PATTERN.test(kb))
  );
}
