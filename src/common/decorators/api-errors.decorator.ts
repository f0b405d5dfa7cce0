import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import type { ContentObject, HeadersObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ErrorResponseDto } from '../dto/error-response.dto';
import { ERROR_STATUS, ERROR_TITLE, ErrorCode } from '../errors/error-codes';
import { EXAMPLE_TASK_ID } from './path-param.decorator';

/** No such task: not the example task, which exists. */
const UNKNOWN_TASK_ID = '7c9e6679-7425-40de-944b-e07fc1f90ae7';

/** A message and details for every code, so each documented error response shows what the service really sends. */
const EXAMPLES: Record<ErrorCode, [string, Record<string, unknown>]> = {
  [ErrorCode.InvalidRequest]: [
    'Invalid field: task_type',
    {
      fields: {
        task_type: [
          'task_type must be one of: document_processing, batch_processing, knowledge_indexing, embedding_generation, vector_storage, health_check',
        ],
      },
    },
  ],
  [ErrorCode.Unauthorized]: ['Invalid credentials', {}],
  [ErrorCode.Forbidden]: [
    'This operation needs the write role; this credential has the read role',
    { required_role: 'write', role: 'read' },
  ],
  [ErrorCode.RateLimited]: [
    'Rate limit of 120000 requests per 60 s exceeded; retry after 12 s',
    { limit: 120000, window_seconds: 60 },
  ],
  [ErrorCode.TaskNotFound]: ['Task with specified ID does not exist', { task_id: UNKNOWN_TASK_ID }],
  // What "Try it out" answers for the example task, which is completed.
  [ErrorCode.TaskNotCancelable]: [
    'Task is completed and can no longer be canceled',
    { task_id: EXAMPLE_TASK_ID, status: 'completed' },
  ],
  [ErrorCode.TaskNotRetryable]: [
    'Only failed or cancelled tasks can be retried; task is completed',
    { task_id: EXAMPLE_TASK_ID, status: 'completed' },
  ],
  [ErrorCode.TaskNotProcessing]: [
    'Progress can only be reported for a processing task; task is completed',
    { task_id: EXAMPLE_TASK_ID, status: 'completed' },
  ],
  [ErrorCode.TaskCancelled]: [
    'Task was cancelled; stop working on it',
    { task_id: EXAMPLE_TASK_ID, status: 'cancelled' },
  ],
  [ErrorCode.LeaseExpired]: [
    'The lease expired before this call; the task went back to the queue',
    { task_id: EXAMPLE_TASK_ID, status: 'queued' },
  ],
  [ErrorCode.LeaseLost]: [
    'This lease is no longer the task’s: it was leased again or retried since',
    { task_id: EXAMPLE_TASK_ID, status: 'processing' },
  ],
  [ErrorCode.QueueFull]: ['Too many tasks are waiting; try again later', { waiting: 100000, limit: 100000 }],
  [ErrorCode.IdempotencyKeyReused]: [
    'This Idempotency-Key was already used with a different request',
    { idempotency_key: 'order-42-ingest' },
  ],
  [ErrorCode.ServiceUnavailable]: ['The database is unavailable; try again shortly', { component: 'database' }],
  [ErrorCode.NotFound]: ['Cannot GET /api/v1/nothing-here', {}],
  [ErrorCode.MethodNotAllowed]: ['Method Not Allowed', {}],
  [ErrorCode.PayloadTooLarge]: ['request entity too large', { reason: 'entity.too.large' }],
  [ErrorCode.UnsupportedMediaType]: ['unsupported charset "LATIN1"', { reason: 'charset.unsupported' }],
  [ErrorCode.InternalError]: ['An unexpected error occurred', { error_id: '3f2b8c1e-6d7a-4e59-b0c4-2a9d8e7f6b51' }],
};

/** A code with the message and details a route really sends, where they differ from the generic example. */
export type ErrorCase = ErrorCode | [ErrorCode, string, Record<string, unknown>];

/** The example error body for `code`, exactly as the exception filter shapes it. */
export function errorExample(error: ErrorCase): {
  error: string;
  message: string;
  code: ErrorCode;
  details: Record<string, unknown>;
} {
  const [code, message, details] = typeof error === 'string' ? [error, ...EXAMPLES[error]] : error;
  return { error: ERROR_TITLE[code], message, code, details };
}

const codeOf = (error: ErrorCase): ErrorCode => (typeof error === 'string' ? error : error[0]);

const RETRY_AFTER: HeadersObject = {
  'Retry-After': {
    description: 'Seconds to wait before trying again (sent when the service knows, e.g. QUEUE_FULL and RATE_LIMITED)',
    schema: { type: 'integer', minimum: 1 },
  },
};

/** Headers an error response of this status carries besides the body. */
function errorHeaders(status: number): HeadersObject | undefined {
  if (status === 429 || status === 503) return RETRY_AFTER;
  if (status === 401)
    return { 'WWW-Authenticate': { description: 'The authentication scheme to use', schema: { type: 'string' } } };
  return undefined;
}

/** One documented error response: a status, the codes it carries, and an example of each. */
export interface ErrorResponseSpec {
  status: number;
  description: string;
  content: ContentObject;
  headers?: HeadersObject;
}

/** The error responses for `codes`, grouped by HTTP status (one entry a status), as OpenAPI response objects. */
export function errorResponses(...cases: ErrorCase[]): ErrorResponseSpec[] {
  const byStatus = new Map<number, ErrorCase[]>();
  for (const error of cases) {
    const status = ERROR_STATUS[codeOf(error)];
    byStatus.set(status, [...(byStatus.get(status) ?? []), error]);
  }
  return [...byStatus.entries()].map(([status, group]) => {
    const headers = errorHeaders(status);
    return {
      status,
      description: group.map(codeOf).join(' | '),
      ...(headers ? { headers } : {}),
      content: {
        'application/json': {
          schema: { $ref: getSchemaPath(ErrorResponseDto) },
          examples: Object.fromEntries(
            group.map((error) => [codeOf(error), { summary: ERROR_TITLE[codeOf(error)], value: errorExample(error) }]),
          ),
        },
      },
    };
  });
}

/**
 * Documents an endpoint's error responses with the shared ErrorResponseDto and an example
 * per code, grouped by HTTP status so Swagger shows one entry a status. (401, 403 and 429
 * are added to every non-public operation by applyAuthToDocument; 413 and 415 to every
 * operation with a body by the document's finishing step.) No `type` here: Nest would
 * rebuild the content from it and drop the examples.
 */
export function ApiErrors(...cases: ErrorCase[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ErrorResponseDto),
    ...errorResponses(...cases).map((spec) => ApiResponse(spec)),
  );
}
