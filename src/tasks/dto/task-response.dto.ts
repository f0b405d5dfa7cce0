import { ApiProperty } from '@nestjs/swagger';
import { PaginationDto } from '../../common/dto/pagination.dto';
import {
  TASK_PRIORITIES,
  TASK_STATUSES,
  TASK_TYPES,
  TaskPriority,
  TaskStatus,
  TaskType,
} from '../../task-types/task-types';

const nullableDate = { type: String, format: 'date-time', nullable: true } as const;

/** A task as every endpoint returns it. */
export class TaskResponseDto {
  @ApiProperty({ format: 'uuid', example: '550e8400-e29b-41d4-a716-446655440000' })
  id!: string;

  @ApiProperty({ enum: TASK_TYPES, example: TaskType.document_processing })
  task_type!: TaskType;

  @ApiProperty({ enum: TASK_STATUSES, example: TaskStatus.queued })
  status!: TaskStatus;

  @ApiProperty({ enum: TASK_PRIORITIES, example: TaskPriority.high })
  priority!: TaskPriority;

  @ApiProperty({ example: 'kb_123456' })
  kb_id!: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { file_path: '/tmp/uploads/document.pdf', chunk_size: 1000 },
  })
  payload!: Record<string, unknown>;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: 'What the handler returned; null until completed',
  })
  result!: unknown;

  @ApiProperty({ type: 'integer', minimum: 0, maximum: 100, example: 65 })
  progress!: number;

  @ApiProperty({ nullable: true, type: String, example: 'Processing embeddings...' })
  progress_message!: string | null;

  @ApiProperty({
    type: 'integer',
    example: 0,
    description: 'Retries so far: automatic ones after a failed attempt, plus manual ones',
  })
  retry_count!: number;

  @ApiProperty({ type: 'integer', example: 3 })
  max_retries!: number;

  @ApiProperty({ type: 'integer', example: 300, description: 'Seconds one attempt may run' })
  timeout!: number;

  @ApiProperty({ ...nullableDate, example: null })
  schedule_for!: string | null;

  @ApiProperty({ example: '', description: 'Last error; empty when none' })
  error_message!: string;

  @ApiProperty({ nullable: true, type: String, example: 'worker_host-1_4242' })
  worker_id!: string | null;

  @ApiProperty({
    format: 'uuid',
    nullable: true,
    type: String,
    description: 'Parent task (batch processing); null for a top-level task',
  })
  parent_id!: string | null;

  @ApiProperty({ format: 'date-time', example: '2025-07-28T14:20:00Z' })
  created_at!: string;

  @ApiProperty({ format: 'date-time', example: '2025-07-28T14:21:30Z' })
  updated_at!: string;

  @ApiProperty({
    ...nullableDate,
    example: '2025-07-28T14:20:05Z',
    description: 'When the current (latest) attempt started',
  })
  started_at!: string | null;

  @ApiProperty({ ...nullableDate, example: null, description: 'When the task reached completed, failed or cancelled' })
  completed_at!: string | null;

  @ApiProperty({
    ...nullableDate,
    example: '2025-07-28T14:25:00Z',
    description:
      'Projected finish, from recent average run time of this task type, the queue position and live worker concurrency; null when there is no basis (no finished task of any type yet, or no live worker)',
  })
  estimated_completion!: string | null;

  @ApiProperty({
    nullable: true,
    type: 'integer',
    example: 1,
    description:
      '1-based place among due waiting tasks of this type with higher or equal priority; 0 once started or finished; null while scheduled for later',
  })
  queue_position!: number | null;

  @ApiProperty({
    nullable: true,
    type: String,
    example: null,
    description: 'Where the webhook goes when the task finishes',
  })
  callback_url!: string | null;
}

export class TaskListResponseDto {
  @ApiProperty({ type: [TaskResponseDto] }) tasks!: TaskResponseDto[];
  @ApiProperty({ type: PaginationDto }) pagination!: PaginationDto;
}

export class BatchCreateResponseDto {
  @ApiProperty({ type: [TaskResponseDto] }) tasks!: TaskResponseDto[];
  @ApiProperty({ type: 'integer', example: 2 }) count!: number;
}

export class CancelTaskResponseDto {
  @ApiProperty({ example: 'Task canceled successfully' }) message!: string;
  @ApiProperty({ format: 'uuid', example: '550e8400-e29b-41d4-a716-446655440000' }) task_id!: string;
}
