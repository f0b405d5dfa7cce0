import { isSecretVariable, redactSecrets, registerSecrets, secretsFromEnv } from './redact';

describe('redactSecrets', () => {
  it.each([
    ['postgresql://postgres:hunter2@db:5432/tm', 'postgresql://postgres:[REDACTED]@db:5432/tm'],
    ['connect redis://:p%40ss@cache:6379 failed', 'connect redis://:[REDACTED]@cache:6379 failed'],
    ['authorization: Bearer abc.def-ghi', 'authorization: Bearer [REDACTED]'],
    ['Authorization: Basic c29tZW9uZTpzZWNyZXQ=', 'Authorization: Basic [REDACTED]'],
    ['{"x-api-key":"tm_live_123"}', '{"x-api-key":"[REDACTED]"}'],
    ['X-API-Key: tm_live_123 sent', 'X-API-Key: [REDACTED] sent'],
    ['token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl used', 'token [REDACTED] used'],
    ['no secrets here', 'no secrets here'],
  ])('%s', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });

  it('redacts the configured secrets wherever they appear', () => {
    registerSecrets(
      secretsFromEnv({
        EMBEDDING_API_KEY: 'sk-embed-0123456789',
        JWT_SECRET: 'jwt-secret-value-xyz',
        PORT: '8084',
        DATABASE_URL: 'postgresql://u:pa%24%24word@h/db',
      }),
    );
    expect(
      redactSecrets('upstream said: invalid key sk-embed-0123456789 (jwt-secret-value-xyz) pa$$word on 8084'),
    ).toBe('upstream said: invalid key [REDACTED] ([REDACTED]) [REDACTED] on 8084');
  });

  it('knows which variables are secrets as a whole', () => {
    expect(['JWT_SECRET', 'EMBEDDING_API_KEY', 'API_KEYS', 'SOME_TOKEN', 'DB_PASSWORD'].every(isSecretVariable)).toBe(
      true,
    );
    expect(['JWT_PUBLIC_KEY', 'PORT', 'DATABASE_URL'].some(isSecretVariable)).toBe(false);
  });
});
