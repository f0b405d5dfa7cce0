import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import type { ContentObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ErrorResponseDto } from '../dto/error-response.dto';
import { ERROR_STATUS, ERROR_TITLE, ErrorCode } from '../errors/error-codes';

const EXAMPLE_MESSAGE: Partial<Record<ErrorCode, [string, Record<string, unknown>]>> = {
  [ErrorCode.InvalidRequest]: ['Invalid field: task_type', { fields: { task_type: ['task_type must be one of the following values: document_processing, batch_processing, knowledge_indexing, embedding_generation, vector_storage, health_check'] } }],
  [ErrorCode.TaskNotFound]: ['Task with specified ID does not exist', { task_id: 'invalid_id' }],
  [ErrorCode.TaskNotCancelable]: ['Task is completed and can no longer be canceled', { task_id: '550e8400-e29b-41d4-a716-446655440000', status: 'completed' }],
  [ErrorCode.TaskNotRetryable]: ['Only failed or cancelled tasks can be retried', { task_id: '550e8400-e29b-41d4-a716-446655440000', status: 'processing' }],
  [ErrorCode.TaskNotProcessing]: ['Progress can only be reported for a processing task', { task_id: '550e8400-e29b-41d4-a716-446655440000', status: 'queued' }],
  [ErrorCode.ServiceUnavailable]: ['The database is unavailable; try again shortly', { component: 'database' }],
  [ErrorCode.Unauthorized]: ['Invalid credentials', {}],
  [ErrorCode.Forbidden]: ['This operation needs the write role; this credential has the read role', { required_role: 'write', role: 'read' }],
  [ErrorCode.RateLimited]: ['Rate limit of 6000 requests per 60 s exceeded; retry after 12 s', { limit: 6000, window_seconds: 60 }],
};

/** One documented error response: a status, the codes it carries, and an example of each. */
export interface ErrorResponseSpec {
  status: number;
  description: string;
  content: ContentObject;
}

/** The error responses for `codes`, grouped by HTTP status (one entry a status), as OpenAPI response objects. */
export function errorResponses(...codes: ErrorCode[]): ErrorResponseSpec[] {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  return [...byStatus.entries()].map(([status, group]) => ({
    status,
    description: group.join(' | '),
    content: {
      'application/json': {
        schema: { $ref: '#/components/schemas/ErrorResponseDto' },
        examples: Object.fromEntries(
          group.map((code) => {
            const [message, details] = EXAMPLE_MESSAGE[code] ?? [ERROR_TITLE[code], {}];
            return [code, { value: { error: ERROR_TITLE[code], message, code, details } }];
          }),
        ),
      },
    },
  }));
}

/**
 * Documents an endpoint's error responses with the shared ErrorResponseDto and an example
 * per code, grouped by HTTP status so Swagger shows one entry a status. (401, 403 and 429
 * are added to every non-public operation by applyAuthToDocument.)
 */
export function ApiErrors(...codes: ErrorCode[]): MethodDecorator & ClassDecorator {
  return applyDecorators(...errorResponses(...codes).map((spec) => ApiResponse({ ...spec, type: ErrorResponseDto })));
}
