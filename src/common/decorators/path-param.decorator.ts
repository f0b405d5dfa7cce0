import { Param, PipeTransform } from '@nestjs/common';
import { ApiParam } from '@nestjs/swagger';
import { DomainError, InvalidRequestError, TaskNotFoundError } from '../errors/domain.error';
import { ErrorCode } from '../errors/error-codes';
import { UUID_PATTERN } from '../utils/uuid';

/** What a path parameter may hold, how Swagger shows it, and what a value that does not fit gets. */
export interface PathParamRule {
  name: string;
  pattern: RegExp;
  maxLength: number;
  format?: string;
  example: string;
  description: string;
  /**
   * The error for a value that breaks the rule. An id that cannot exist names nothing, so it
   * gets the same 404 as a well-formed id that does not exist; a name the caller chooses
   * (a kb id) gets the 400 the same value would get in a body or query.
   */
  refuse(value: string): DomainError;
}

/** Checks the (percent-decoded) value before a service queries with it: PostgreSQL answers a non-UUID in a uuid column with an error. */
class PathParamPipe implements PipeTransform<unknown, string> {
  constructor(private readonly rule: PathParamRule) {}

  transform(value: unknown): string {
    const text = typeof value === 'string' ? value : '';
    if (text.length === 0 || text.length > this.rule.maxLength || !this.rule.pattern.test(text))
      throw this.rule.refuse(text);
    return text;
  }
}

/**
 * A validated path parameter, documented in Swagger with its pattern, format and maximum
 * length. One decorator on the parameter both validates and documents, so no route can
 * take an id unchecked or show a schema that differs from what is enforced.
 */
export function PathParam(rule: PathParamRule): ParameterDecorator {
  return (target, key, index) => {
    Param(rule.name, new PathParamPipe(rule))(target, key, index);
    const descriptor = key === undefined ? undefined : Object.getOwnPropertyDescriptor(target, key);
    if (!descriptor) throw new Error(`PathParam(${rule.name}) must decorate a method parameter`);
    ApiParam({
      name: rule.name,
      required: true,
      description: rule.description,
      // On the schema, where generated clients and Swagger UI's "Try it out" both read it.
      schema: {
        type: 'string',
        pattern: rule.pattern.source,
        maxLength: rule.maxLength,
        ...(rule.format ? { format: rule.format } : {}),
        example: rule.example,
      },
    })(target, key!, descriptor);
  };
}

/**
 * The id every `{task_id}` example shows: the task the API keeps for the docs
 * (ExampleTaskService), so Swagger UI's "Try it out" reads a real task.
 */
export const EXAMPLE_TASK_ID = '550e8400-e29b-41d4-a716-446655440000';
/** The kb of the examples (the request examples' too), and what the `{kb_id}` examples show. */
export const EXAMPLE_KB_ID = 'kb_123456';
/** The sample document as the example task stores it in EXAMPLE_KB_ID. */
export const EXAMPLE_DOCUMENT_ID = '0b9d7e2a-4c1f-4e8a-9d3b-5f6a7c8e9d00';
/** A finished bulk operation the API keeps recorded for the `{operation_id}` example. */
export const EXAMPLE_BULK_OPERATION_ID = '6f1c2b9e-0a4d-4e3b-9f2a-1c5d7e8f9a00';

function uuidRule(
  name: string,
  description: string,
  example: string,
  refuse: (value: string) => DomainError,
): PathParamRule {
  return { name, pattern: UUID_PATTERN, maxLength: 36, format: 'uuid', example, description, refuse };
}

/** `{task_id}`: a malformed id is a task that does not exist, 404 TASK_NOT_FOUND, as the contract shows for `invalid_id`. */
export const TaskIdParam = (): ParameterDecorator =>
  PathParam(
    uuidRule(
      'task_id',
      'Task id (a UUID). The example is a finished health_check task the service keeps for these docs.',
      EXAMPLE_TASK_ID,
      (value) => new TaskNotFoundError(value),
    ),
  );

/** A UUID path parameter of another resource: a malformed one is 404 NOT_FOUND with `message`. */
export const UuidParam = (name: string, description: string, message: string, example: string): ParameterDecorator =>
  PathParam(
    uuidRule(name, description, example, (value) => new DomainError(ErrorCode.NotFound, message, { [name]: value })),
  );

/** The 400 for a path parameter the caller names (not an id the service issued), with the field named as validation does. */
export function invalidPathParam(name: string, rule: string): (value: string) => DomainError {
  return () => new InvalidRequestError(`Invalid path parameter: ${name}`, { fields: { [name]: [`${name} ${rule}`] } });
}
