import { ApiProperty, PickType } from '@nestjs/swagger';
import { ListTasksQueryDto } from './list-tasks-query.dto';

export const BULK_ACTIONS = ['cancel', 'retry'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];
export const BULK_OPERATION_STATUSES = ['running', 'completed', 'failed'] as const;
export type BulkOperationStatus = (typeof BULK_OPERATION_STATUSES)[number];

/**
 * `POST /api/v1/tasks/bulk/cancel|retry`: which tasks to act on — the list filters of the
 * same names; at least one is required. `status` narrows further (cancel: queued or
 * processing; retry: failed or cancelled); without it every status the action applies to.
 */
export class BulkTaskFilterDto extends PickType(ListTasksQueryDto, [
  'kb_id',
  'status',
  'task_type',
  'priority',
  'created_after',
  'created_before',
] as const) {}

/** A bulk action's progress and outcome. */
export class BulkOperationDto {
  @ApiProperty({ format: 'uuid', description: 'Follow it at GET /api/v1/tasks/bulk/{id}' })
  id!: string;

  @ApiProperty({ enum: BULK_ACTIONS, example: 'cancel' })
  action!: BulkAction;

  @ApiProperty({ enum: BULK_OPERATION_STATUSES, example: 'completed' })
  status!: BulkOperationStatus;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { kb_id: 'kb_123', status: 'queued' },
    description: 'The filter as given',
  })
  filter!: Record<string, unknown>;

  @ApiProperty({
    type: 'integer',
    example: 3000,
    description: 'Tasks the filter matched (in a status the action applies to) when the action started',
  })
  matched!: number;

  @ApiProperty({
    type: 'integer',
    example: 3000,
    description: 'Tasks changed so far; fewer than matched when some changed state meanwhile',
  })
  affected!: number;

  @ApiProperty({ type: 'integer', example: 6, description: 'Transactions (batches of BULK_BATCH_SIZE) done so far' })
  batches!: number;

  @ApiProperty({ nullable: true, type: String, example: null })
  error!: string | null;

  @ApiProperty({ format: 'date-time' })
  created_at!: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  finished_at!: string | null;
}
