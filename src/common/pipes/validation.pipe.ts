import { ValidationError, ValidationPipe } from '@nestjs/common';
import { InvalidRequestError } from '../errors/domain.error';

/**
 * Flattens class-validator's tree into `{ "payload.chunk_size": ["must be ..."] }` so a
 * caller sees every bad field by its JSON path at once.
 */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const error of errors) {
    const path = parent ? (/^\d+$/.test(error.property) ? `${parent}[${error.property}]` : `${parent}.${error.property}`) : error.property;
    if (error.constraints) out[path] = Object.values(error.constraints);
    if (error.children?.length) Object.assign(out, flattenValidationErrors(error.children, path));
  }
  return out;
}

export function describeFieldErrors(fields: Record<string, string[]>): string {
  const names = Object.keys(fields);
  return names.length === 1 ? `Invalid field: ${names[0]}` : `Invalid fields: ${names.join(', ')}`;
}

/** The global pipe: strips nothing silently (unknown fields are errors) and converts query strings to typed DTOs. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    stopAtFirstError: true,
    exceptionFactory: (errors) => {
      const fields = flattenValidationErrors(errors);
      return new InvalidRequestError(describeFieldErrors(fields), { fields });
    },
  });
}
