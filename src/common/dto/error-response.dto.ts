import { ApiProperty } from '@nestjs/swagger';
import { ErrorCode } from '../errors/error-codes';

/** The one error body every endpoint returns on failure. */
export class ErrorResponseDto {
  @ApiProperty({ example: 'Task not found', description: 'Short human title of the error' })
  error!: string;

  @ApiProperty({ example: 'Task with specified ID does not exist' })
  message!: string;

  @ApiProperty({
    enum: Object.values(ErrorCode),
    enumName: 'ErrorCode',
    example: ErrorCode.TaskNotFound,
    description:
      'Stable machine-readable code; clients switch on it. A code never changes meaning (new ones may be added)',
  })
  code!: ErrorCode;

  @ApiProperty({
    example: { task_id: '550e8400-e29b-41d4-a716-446655440000' },
    description: 'Structured context; for INVALID_REQUEST `fields` maps each bad field path to its messages',
    type: 'object',
    additionalProperties: true,
  })
  details!: Record<string, unknown>;
}
