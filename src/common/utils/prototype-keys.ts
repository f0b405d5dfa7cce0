/**
 * Removes `__proto__`, `prototype` and `constructor` keys from parsed JSON, in place and at
 * every depth — what the global ValidationPipe does to every body it validates. A body that a
 * route's own pipe validates instead (`@RawBody`) gets the same treatment through this, so
 * class-transformer never copies such a key onto an instance (which can pollute a prototype
 * or crash it).
 */
export function stripPrototypeKeys(value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    // Object.values skips the holes of a sparse array instead of walking its whole length.
    for (const item of Object.values(value)) stripPrototypeKeys(item);
    return;
  }
  const record = value as Record<string, unknown>;
  for (const key of ['__proto__', 'prototype', 'constructor']) {
    if (Object.prototype.hasOwnProperty.call(record, key)) Reflect.deleteProperty(record, key);
  }
  for (const item of Object.values(record)) stripPrototypeKeys(item);
}
