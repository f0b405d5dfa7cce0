import {
  algorithmForKey,
  JWT_ALGORITHMS,
  JwtAlgorithm,
  JwtVerifier,
  JwtVerifierOptions,
  parsePublicKey,
} from '../common/security/jwt-verifier';
import { parseApiKeys } from './api-keys';

/** The JWT variables of the environment, as validated by EnvironmentVariables. */
export interface JwtEnvironment {
  JWT_SECRET: string;
  JWT_PUBLIC_KEY: string;
  JWT_ALGORITHM: string;
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
  JWT_CLOCK_SKEW_SECONDS: number;
}

/**
 * JWT verification settings from the environment, or null when JWT is not configured.
 * Throws an Error naming the variable when they do not fit together: one of JWT_SECRET
 * (HS256) or JWT_PUBLIC_KEY (RS256/ES256), never both, and JWT_ALGORITHM, if given,
 * matching the key — so the accepted algorithm is never chosen by a token.
 */
export function jwtSettings(env: JwtEnvironment): JwtVerifierOptions | null {
  const secret = env.JWT_SECRET ?? '';
  const publicKey = env.JWT_PUBLIC_KEY ?? '';
  const named = (env.JWT_ALGORITHM ?? '').trim().toUpperCase();
  if (named && !(JWT_ALGORITHMS as readonly string[]).includes(named)) {
    throw new Error(`JWT_ALGORITHM must be one of ${JWT_ALGORITHMS.join(', ')}`);
  }
  if (!secret && !publicKey) {
    if (named) throw new Error('JWT_ALGORITHM is set but neither JWT_SECRET nor JWT_PUBLIC_KEY is');
    return null;
  }
  if (secret && publicKey) throw new Error('set JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256/ES256), not both');
  let algorithm: JwtAlgorithm;
  if (secret) {
    if (named && named !== 'HS256')
      throw new Error(`JWT_ALGORITHM=${named} needs JWT_PUBLIC_KEY; JWT_SECRET is for HS256`);
    algorithm = 'HS256';
  } else {
    let inferred: JwtAlgorithm;
    try {
      inferred = algorithmForKey(parsePublicKey(publicKey));
    } catch (error) {
      throw new Error(`JWT_PUBLIC_KEY is not a PEM public key (${(error as Error).message})`);
    }
    if (named === 'HS256') throw new Error('JWT_ALGORITHM=HS256 needs JWT_SECRET, not JWT_PUBLIC_KEY');
    algorithm = (named as JwtAlgorithm) || inferred;
  }
  const options: JwtVerifierOptions = {
    algorithm,
    secret: secret || undefined,
    publicKey: publicKey || undefined,
    issuer: env.JWT_ISSUER || undefined,
    audience: env.JWT_AUDIENCE || undefined,
    clockSkewSeconds: env.JWT_CLOCK_SKEW_SECONDS,
  };
  try {
    new JwtVerifier(options);
  } catch (error) {
    throw new Error(`${secret ? 'JWT_SECRET' : 'JWT_PUBLIC_KEY'}: ${(error as Error).message}`);
  }
  return options;
}

/** What is wrong with an API_KEYS value, or null when it parses. */
export function apiKeysProblem(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') return 'must be a string';
  try {
    parseApiKeys(value);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** What is wrong with the JWT variables together, or null when they fit. */
export function jwtProblem(env: JwtEnvironment): string | null {
  try {
    jwtSettings(env);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}
