import { createHash } from 'node:crypto';
import { isRole, Role, ROLES } from '../common/security/roles';
import { KB_ID_PATTERN } from '../common/utils/id-patterns';

/** One configured API key. Only the SHA-256 digest of the key is ever configured or held. */
export interface ApiKeyEntry {
  name: string;
  /** Lower-case hex SHA-256 of the key as the client sends it. */
  sha256: string;
  role: Role;
  /** Knowledge bases the key may touch; null means all. */
  kbIds: string[] | null;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
const JSON_FIELDS = new Set(['name', 'sha256', 'role', 'kb_ids']);

/** The digest to configure for a key: `printf %s "$KEY" | sha256sum`. */
export function sha256Hex(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * Reads API_KEYS, in either form:
 * - JSON: `[{"name":"svc-a","sha256":"<hex>","role":"write","kb_ids":["kb_1"]}]`
 * - compact: `name:role:sha256[:kb_1|kb_2]`, entries separated by commas.
 * Throws an Error saying which entry is wrong and why; never echoes a digest.
 */
export function parseApiKeys(raw: string): ApiKeyEntry[] {
  const text = raw.trim();
  if (text === '') return [];
  const entries = text.startsWith('[') || text.startsWith('{') ? fromJson(text) : fromCompact(text);
  const names = new Set<string>();
  const digests = new Set<string>();
  for (const [i, entry] of entries.entries()) {
    if (names.has(entry.name)) throw new Error(`entry ${i + 1}: the name ${entry.name} is used twice`);
    if (digests.has(entry.sha256))
      throw new Error(`entry ${i + 1} (${entry.name}): the same key digest is configured twice`);
    names.add(entry.name);
    digests.add(entry.sha256);
  }
  return entries;
}

function fromJson(text: string): ApiKeyEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`not valid JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(parsed)) throw new Error('must be a JSON array of {name, sha256, role, kb_ids?}');
  return parsed.map((item: unknown, i) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item))
      throw new Error(`entry ${i + 1} must be an object {name, sha256, role, kb_ids?}`);
    const record = item as Record<string, unknown>;
    const unknown = Object.keys(record).filter((k) => !JSON_FIELDS.has(k));
    if (unknown.length > 0)
      throw new Error(`entry ${i + 1}: unknown field(s) ${unknown.join(', ')} (allowed: name, sha256, role, kb_ids)`);
    return entry(i, record.name, record.sha256, record.role, record.kb_ids);
  });
}

function fromCompact(text: string): ApiKeyEntry[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part, i) => {
      const fields = part.split(':');
      if (fields.length < 3 || fields.length > 4)
        throw new Error(`entry ${i + 1}: expected name:role:sha256[:kb_1|kb_2]`);
      const [name, role, sha256, kbs] = fields;
      return entry(i, name, sha256, role, kbs === undefined ? undefined : kbs.split('|'));
    });
}

function entry(i: number, name: unknown, sha256: unknown, role: unknown, kbIds: unknown): ApiKeyEntry {
  const at = `entry ${i + 1}`;
  if (typeof name !== 'string' || !NAME.test(name))
    throw new Error(`${at}: name must be 1-64 letters, digits, _ . - (starting with a letter or digit)`);
  const label = `${at} (${name})`;
  if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) {
    throw new Error(
      `${label}: sha256 must be the 64-hex-digit SHA-256 digest of the key (printf %s "$KEY" | sha256sum), not the key itself`,
    );
  }
  if (!isRole(role)) throw new Error(`${label}: role must be one of ${ROLES.join(', ')}`);
  if (kbIds !== undefined && kbIds !== null) {
    if (!Array.isArray(kbIds) || kbIds.length === 0)
      throw new Error(`${label}: kb_ids must be a non-empty array (omit it to allow every knowledge base)`);
    const bad: unknown = kbIds.find((kb) => typeof kb !== 'string' || kb.length > 128 || !KB_ID_PATTERN.test(kb));
    if (bad !== undefined) throw new Error(`${label}: ${JSON.stringify(bad)} is not a valid kb_id`);
  }
  return { name, sha256: sha256.toLowerCase(), role, kbIds: kbIds ? [...new Set(kbIds as string[])] : null };
}
