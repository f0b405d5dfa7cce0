import { ApiProperty } from '@nestjs/swagger';

/** The one error body every endpoint returns on failure. */
export class ErrorResponseDto {
  @ApiProperty({ example: 'Task not found', description: 'Short human title of the error' })
  error!: string;

  @ApiProperty({ example: 'Task with specified ID does not exist' })
  message!: string;

  @ApiProperty({
    example: 'TASK_NOT_FOUND',
    description:
      'Stable machine-readable code: INVALID_REQUEST, UNAUTHORIZED, FORBIDDEN, RATE_LIMITED, TASK_NOT_FOUND, TASK_NOT_CANCELABLE, TASK_NOT_RETRYABLE, TASK_NOT_PROCESSING, QUEUE_FULL, SERVICE_UNAVAILABLE, NOT_FOUND, PAYLOAD_TOO_LARGE, INTERNAL_ERROR',
  })
  code!: string;

  @ApiProperty({
    example: { task_id: 'invalid_id' },
    description: 'Structured context; for INVALID_REQUEST `fields` maps each bad field path to its messages',
    type: 'object',
    additionalProperties: true,
  })
  details!: Record<string, unknown>;
}
