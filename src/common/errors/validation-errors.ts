import type { ValidationError } from 'class-validator';

/**
 * Flattens class-validator's tree into `{ "payload.chunk_size": ["must be ..."] }` so a
 * caller sees every bad field by its JSON path at once.
 */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const error of errors) {
    const path = parent
      ? /^\d+$/.test(error.property)
        ? `${parent}[${error.property}]`
        : `${parent}.${error.property}`
      : error.property;
    if (error.constraints) out[path] = Object.values(error.constraints);
    if (error.children?.length) Object.assign(out, flattenValidationErrors(error.children, path));
  }
  return out;
}

export function describeFieldErrors(fields: Record<string, string[]>): string {
  const names = Object.keys(fields);
  return names.length === 1 ? `Invalid field: ${names[0]}` : `Invalid fields: ${names.join(', ')}`;
}
