/**
 * Redaction of secrets in anything written to the logs: credentials in URLs
 * (postgresql://user:password@…), Authorization values, API-key headers, JWTs, and the
 * literal values of the secrets the service is configured with.
 */
const REDACTED = '[REDACTED]';
const PATTERNS: [RegExp, string][] = [
  // scheme://user:password@host → scheme://user:[REDACTED]@host
  [/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi, `$1${REDACTED}@`],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`],
  [/(x-api-key["']?\s*[:=]\s*["']?)[^\s"',;}]+/gi, `$1${REDACTED}`],
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+/g, REDACTED],
];
/** Shorter values would redact ordinary words. */
const MIN_SECRET_LENGTH = 6;
/** Environment variables whose whole value is a secret. */
const SECRET_VARIABLE = /(SECRET|PASSWORD|TOKEN|API_KEY)/i;

const knownSecrets = new Set<string>();

export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of knownSecrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** Makes these literal values redacted wherever they appear in a log line. */
export function registerSecrets(values: Iterable<string | undefined>): void {
  for (const value of values) if (value && value.length >= MIN_SECRET_LENGTH) knownSecrets.add(value);
}

/** Whether an environment variable's value is a secret as a whole (never to be echoed). */
export function isSecretVariable(name: string): boolean {
  return SECRET_VARIABLE.test(name) || name === 'API_KEYS';
}

/** The secret values an environment holds: secret variables, and passwords inside URLs. */
export function secretsFromEnv(env: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (typeof value !== 'string' || value === '') continue;
    if (isSecretVariable(name) && name !== 'API_KEYS') out.push(value);
    const password = /^[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:([^\s@/]+)@/i.exec(value)?.[1];
    if (password) out.push(password, safeDecode(password));
  }
  return out;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
