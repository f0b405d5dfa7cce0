import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from '../dto/error-response.dto';
import { ERROR_STATUS, ERROR_TITLE, ErrorCode } from '../errors/error-codes';

const EXAMPLE_MESSAGE: Partial<Record<ErrorCode, [string, Record<string, unknown>]>> = {
  [ErrorCode.InvalidRequest]: ['Invalid field: task_type', { fields: { task_type: ['task_type must be one of the following values: document_processing, batch_processing, knowledge_indexing, embedding_generation, vector_storage, health_check'] } }],
  [ErrorCode.TaskNotFound]: ['Task with specified ID does not exist', { task_id: 'invalid_id' }],
  [ErrorCode.TaskNotCancelable]: ['Task is completed and can no longer be canceled', { task_id: '550e8400-e29b-41d4-a716-446655440000', status: 'completed' }],
  [ErrorCode.TaskNotRetryable]: ['Only failed or cancelled tasks can be retried', { task_id: '550e8400-e29b-41d4-a716-446655440000', status: 'processing' }],
  [ErrorCode.TaskNotProcessing]: ['Progress can only be reported for a processing task', { task_id: '550e8400-e29b-41d4-a716-446655440000', status: 'queued' }],
  [ErrorCode.ServiceUnavailable]: ['The database is unavailable; try again shortly', { component: 'database' }],
};

/**
 * Documents an endpoint's error responses with the shared ErrorResponseDto and an example
 * per code, grouped by HTTP status so Swagger shows one entry a status.
 */
export function ApiErrors(...codes: ErrorCode[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  return applyDecorators(
    ...[...byStatus.entries()].map(([status, group]) =>
      ApiResponse({
        status,
        type: ErrorResponseDto,
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
      }),
    ),
  );
}
