import { generateKeyPairSync } from 'node:crypto';
import { uploadNamespaceWarning, uploadPerKb } from './app.config';
import { parseTaskTypeList, validateEnvironment } from './env.validation';

const error = (env: Record<string, string>): string => {
  try {
    validateEnvironment(env);
  } catch (e) {
    return (e as Error).message;
  }
  return 'valid';
};

describe('security variables', () => {
  it('names API_KEYS and says what is wrong, without echoing the value', () => {
    const message = error({ API_KEYS: '[{"name":"svc","sha256":"my-plaintext-key","role":"read"}]' });
    expect(message).toContain('API_KEYS=<redacted>: API_KEYS: entry 1 (svc): sha256 must be the 64-hex-digit SHA-256');
    expect(message).not.toContain('my-plaintext-key');
    expect(error({ API_KEYS: '[not json' })).toMatch(/API_KEYS: not valid JSON/);
  });

  it('refuses a short JWT_SECRET without printing it', () => {
    const message = error({ JWT_SECRET: 'too-short-secret' });
    expect(message).toMatch(/JWT_SECRET: HS256 needs a secret of at least 32 characters/);
    expect(message).not.toContain('too-short-secret');
  });

  it('refuses JWT settings that leave the algorithm ambiguous or mismatched', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    const secret = 'x'.repeat(40);
    expect(error({ JWT_SECRET: secret, JWT_PUBLIC_KEY: rsa })).toMatch(/not both/);
    expect(error({ JWT_PUBLIC_KEY: rsa, JWT_ALGORITHM: 'HS256' })).toMatch(/HS256 needs JWT_SECRET/);
    expect(error({ JWT_PUBLIC_KEY: rsa, JWT_ALGORITHM: 'ES256' })).toMatch(/P-256/);
    expect(error({ JWT_ALGORITHM: 'none' })).toMatch(/JWT_ALGORITHM must be one of HS256, RS256, ES256/);
    expect(error({ JWT_PUBLIC_KEY: 'not a pem' })).toMatch(/JWT_PUBLIC_KEY is not a PEM public key/);
    expect(error({ JWT_PUBLIC_KEY: rsa })).toBe('valid');
    expect(error({ JWT_SECRET: secret, JWT_ALGORITHM: 'HS256' })).toBe('valid');
  });

  it('validates the hardening variables', () => {
    expect(error({ CORS_ORIGINS: 'https://app.example.com, http://localhost:3000' })).toBe('valid');
    expect(error({ CORS_ORIGINS: 'javascript:alert(1)' })).toMatch(/CORS_ORIGINS/);
    expect(error({ MAX_JSON_DEPTH: '1' })).toMatch(/MAX_JSON_DEPTH/);
    expect(error({ RATE_LIMIT_PER_MINUTE: '-1' })).toMatch(/RATE_LIMIT_PER_MINUTE/);
    expect(error({ METRICS_REQUIRE_AUTH: 'perhaps' })).toMatch(/METRICS_REQUIRE_AUTH must be true or false/);
    expect(error({ TRUST_PROXY: 'loopback, 10.0.0.0/8' })).toBe('valid');
    expect(error({ TRUST_PROXY: 'yes' })).toMatch(/TRUST_PROXY must be/);
  });

  it('limits per key by default, not per IP, and always limits failed authentication', () => {
    const defaults = validateEnvironment({});
    expect(defaults).toMatchObject({
      RATE_LIMIT_PER_MINUTE: 120_000,
      RATE_LIMIT_PER_IP_PER_MINUTE: 0,
      AUTH_FAILURE_LIMIT: 20,
      AUTH_FAILURE_WINDOW_SECONDS: 300,
    });
    expect(error({ RATE_LIMIT_PER_IP_PER_MINUTE: '-1' })).toMatch(/RATE_LIMIT_PER_IP_PER_MINUTE/);
    expect(error({ AUTH_FAILURE_LIMIT: '0' })).toMatch(/AUTH_FAILURE_LIMIT/);
    expect(error({ AUTH_FAILURE_WINDOW_SECONDS: '0' })).toMatch(/AUTH_FAILURE_WINDOW_SECONDS/);
  });

  it('redacts a URL password when echoing a bad URL', () => {
    const message = error({ REDIS_URL: 'http://:topsecretpw@cache:6379' });
    expect(message).toContain('REDIS_URL');
    expect(message).not.toContain('topsecretpw');
  });
});

describe('VECTOR_STORE', () => {
  it('defaults to auto, accepts the two backends and names the variable otherwise', () => {
    expect(validateEnvironment({}).VECTOR_STORE).toBe('auto');
    expect(validateEnvironment({ VECTOR_STORE: 'pgvector' }).VECTOR_STORE).toBe('pgvector');
    expect(validateEnvironment({ VECTOR_STORE: 'float_array' }).VECTOR_STORE).toBe('float_array');
    expect(error({ VECTOR_STORE: 'hnsw' })).toContain(
      'VECTOR_STORE="hnsw": VECTOR_STORE must be auto, pgvector or float_array',
    );
  });
});

describe('upload variables', () => {
  const perKb = (env: Record<string, string>) => uploadPerKb(validateEnvironment(env));
  const limitedKey = JSON.stringify([{ name: 'svc', sha256: 'a'.repeat(64), role: 'write', kb_ids: ['kb_a'] }]);
  const allKbKey = JSON.stringify([{ name: 'ops', sha256: 'b'.repeat(64), role: 'admin' }]);

  it('splits UPLOAD_DIR per kb in auto mode as soon as a credential can be limited to some kbs', () => {
    expect(perKb({})).toBe(false);
    expect(perKb({ API_KEYS: allKbKey })).toBe(false);
    expect(perKb({ API_KEYS: limitedKey })).toBe(true);
    expect(perKb({ JWT_SECRET: 'x'.repeat(40) })).toBe(true);
    expect(perKb({ API_KEYS: limitedKey, UPLOAD_NAMESPACE: 'shared' })).toBe(false);
    expect(perKb({ UPLOAD_NAMESPACE: 'per_kb' })).toBe(true);
  });

  it('tells a worker without the kb-limited credentials that in auto it follows the mode the API recorded', () => {
    const warning = (env: Record<string, string>) => uploadNamespaceWarning(validateEnvironment(env));
    expect(warning({ APP_ROLE: 'worker' })).toMatch(/follows the upload mode the API recorded in PostgreSQL/);
    expect(warning({ APP_ROLE: 'worker', API_KEYS: allKbKey })).not.toBeNull();
    // It decides as the API does, or was told: nothing to warn about.
    expect(warning({ APP_ROLE: 'worker', API_KEYS: limitedKey })).toBeNull();
    expect(warning({ APP_ROLE: 'worker', UPLOAD_NAMESPACE: 'shared' })).toBeNull();
    expect(warning({ APP_ROLE: 'worker', UPLOAD_NAMESPACE: 'per_kb' })).toBeNull();
    // API and both roles hold the credentials they decide by.
    expect(warning({ APP_ROLE: 'api' })).toBeNull();
    expect(warning({})).toBeNull();
  });

  it('names UPLOAD_NAMESPACE and UPLOAD_ALLOW_HARD_LINKS when they are wrong', () => {
    expect(error({ UPLOAD_NAMESPACE: 'tenant' })).toMatch(/UPLOAD_NAMESPACE must be auto, shared or per_kb/);
    expect(error({ UPLOAD_ALLOW_HARD_LINKS: 'maybe' })).toMatch(/UPLOAD_ALLOW_HARD_LINKS must be true or false/);
    expect(validateEnvironment({ UPLOAD_ALLOW_HARD_LINKS: 'true' }).UPLOAD_ALLOW_HARD_LINKS).toBe(true);
  });
});

describe('embedding provider limits', () => {
  it('default to unlimited with a five-minute bound on waiting, and name the variable when wrong', () => {
    expect(validateEnvironment({})).toMatchObject({
      EMBEDDING_REQUESTS_PER_MINUTE: 0,
      EMBEDDING_TOKENS_PER_MINUTE: 0,
      EMBEDDING_MAX_THROTTLE_WAIT_SECONDS: 300,
    });
    expect(
      validateEnvironment({ EMBEDDING_REQUESTS_PER_MINUTE: '3000', EMBEDDING_TOKENS_PER_MINUTE: '1000000' }),
    ).toMatchObject({ EMBEDDING_REQUESTS_PER_MINUTE: 3000, EMBEDDING_TOKENS_PER_MINUTE: 1_000_000 });
    expect(error({ EMBEDDING_REQUESTS_PER_MINUTE: '-1' })).toMatch(/EMBEDDING_REQUESTS_PER_MINUTE/);
    expect(error({ EMBEDDING_TOKENS_PER_MINUTE: 'lots' })).toMatch(/EMBEDDING_TOKENS_PER_MINUTE/);
    expect(error({ EMBEDDING_MAX_THROTTLE_WAIT_SECONDS: '0' })).toMatch(/EMBEDDING_MAX_THROTTLE_WAIT_SECONDS/);
  });
});

describe('EXTERNAL_TASK_TYPES', () => {
  it('takes a comma-separated list of task types, and names the variable and the types when one is not', () => {
    expect(error({ EXTERNAL_TASK_TYPES: 'embedding_generation, health_check' })).toBe('valid');
    expect(error({ EXTERNAL_TASK_TYPES: '' })).toBe('valid');
    expect(error({ EXTERNAL_TASK_TYPES: 'embedding_generation,ocr' })).toMatch(
      /EXTERNAL_TASK_TYPES="embedding_generation,ocr": EXTERNAL_TASK_TYPES must be empty or a comma-separated list of task types \(.*embedding_generation/,
    );
    expect(parseTaskTypeList(' embedding_generation,,embedding_generation ')).toEqual(['embedding_generation']);
  });
});
