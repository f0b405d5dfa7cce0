import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsDateString,
  IsDefined,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';

/**
 * Composite field decorators: each bundles the validator, the Swagger schema and the
 * query-string transform for one kind of field, so a DTO states a field once and the
 * docs can never disagree with what is enforced.
 */
interface FieldOptions {
  description?: string;
  example?: unknown;
  required?: boolean;
}

function apiProperty(options: FieldOptions & Record<string, unknown>) {
  const { required = true, ...rest } = options;
  return required ? ApiProperty(rest) : ApiPropertyOptional(rest);
}

/** Optional fields may be absent; a required one that is absent gets one clear message, not every rule's. */
function optionality(required: boolean | undefined): PropertyDecorator[] {
  return required === false ? [IsOptional()] : [IsDefined({ message: '$property is required' })];
}

export function EnumField<T extends string>(values: readonly T[], options: FieldOptions & { default?: T } = {}) {
  return applyDecorators(
    apiProperty({ ...options, enum: values }),
    ...optionality(options.required),
    IsIn(values, { message: `$property must be one of: ${values.join(', ')}` }),
  );
}

export function IntField(options: FieldOptions & { min: number; max: number; default?: number; fromQuery?: boolean }) {
  const { min, max, fromQuery, ...rest } = options;
  return applyDecorators(
    apiProperty({ ...rest, type: 'integer', minimum: min, maximum: max }),
    ...optionality(options.required),
    ...(fromQuery
      ? [
          Transform(({ value }: { value: unknown }) =>
            typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value,
          ),
        ]
      : []),
    IsInt({ message: '$property must be an integer' }),
    Min(min, { message: `$property must be at least ${min}` }),
    Max(max, { message: `$property must be at most ${max}` }),
  );
}

export function StringField(options: FieldOptions & { maxLength: number; pattern?: RegExp; patternMessage?: string }) {
  const { maxLength, pattern, patternMessage, ...rest } = options;
  return applyDecorators(
    apiProperty({ ...rest, type: 'string', maxLength, ...(pattern ? { pattern: pattern.source } : {}) }),
    ...optionality(options.required),
    IsString({ message: '$property must be a string' }),
    IsNotEmpty({ message: '$property must not be empty' }),
    MaxLength(maxLength, { message: `$property must be at most ${maxLength} characters` }),
    ...(pattern ? [Matches(pattern, { message: patternMessage ?? `$property must match ${pattern.source}` })] : []),
  );
}

export function DateTimeField(options: FieldOptions) {
  return applyDecorators(
    apiProperty({ ...options, type: 'string', format: 'date-time' }),
    ...optionality(options.required),
    IsDateString({ strict: true }, { message: '$property must be an ISO 8601 date-time such as 2025-07-28T14:30:00Z' }),
  );
}

export function ObjectField(options: FieldOptions) {
  return applyDecorators(
    apiProperty({ ...options, type: 'object', additionalProperties: true }),
    ...optionality(options.required),
    IsObject({ message: '$property must be a JSON object' }),
  );
}

export function UuidField(options: FieldOptions) {
  return applyDecorators(
    apiProperty({ ...options, type: 'string', format: 'uuid' }),
    ...optionality(options.required),
    IsUUID('all', { message: '$property must be a UUID' }),
  );
}
