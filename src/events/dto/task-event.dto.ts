import { ApiProperty } from '@nestjs/swagger';
import { EnumField, StringField } from '../../common/decorators/validation.decorators';
import { KB_ID_PATTERN } from '../../common/utils/id-patterns';
import { TASK_STATUSES, TASK_TYPES, TaskStatus, TaskType } from '../../task-types/task-types';

export const TASK_EVENT_TYPES = ['created', 'status', 'progress'] as const;

/** `GET /api/v1/tasks/events`: narrow the stream to a knowledge base and/or a task type. */
export class TaskEventsQueryDto {
  @StringField({
    required: false,
    maxLength: 128,
    pattern: KB_ID_PATTERN,
    example: 'kb_123',
    description: 'Only events of this knowledge base',
  })
  kb_id?: string;

  @EnumField(TASK_TYPES, {
    required: false,
    example: TaskType.document_processing,
    description: 'Only events of this task type',
  })
  task_type?: TaskType;
}

/** One state change or progress report: the `data` of an SSE message and an entry of a task's history. */
export class TaskEventDto {
  @ApiProperty({
    type: 'integer',
    example: 18342,
    description: 'Increases with every event; the SSE `id` of a task stream',
  })
  event_id!: number;

  @ApiProperty({ format: 'uuid', example: '550e8400-e29b-41d4-a716-446655440000' })
  task_id!: string;

  @ApiProperty({ example: 'kb_123456' })
  kb_id!: string;

  @ApiProperty({ enum: TASK_TYPES, example: TaskType.document_processing })
  task_type!: TaskType;

  @ApiProperty({
    enum: TASK_EVENT_TYPES,
    example: 'progress',
    description:
      'created: the task was stored; status: its status or attempt changed; progress: only progress, its message or the error changed',
  })
  type!: (typeof TASK_EVENT_TYPES)[number];

  @ApiProperty({ enum: TASK_STATUSES, example: TaskStatus.processing })
  status!: TaskStatus;

  @ApiProperty({ type: 'integer', minimum: 0, maximum: 100, example: 40 })
  progress!: number;

  @ApiProperty({ nullable: true, type: String, example: 'Probe round 2 of 5' })
  message!: string | null;

  @ApiProperty({ type: 'integer', example: 1, description: 'Execution the event belongs to (0 before the first)' })
  attempt!: number;

  @ApiProperty({
    nullable: true,
    type: String,
    example: null,
    description: 'Set on the event that ends a failed attempt',
  })
  error!: string | null;

  @ApiProperty({
    nullable: true,
    type: String,
    example: 'worker_host-1_4242_a1b2',
    description: 'Worker process holding the task at the time',
  })
  worker_id!: string | null;

  @ApiProperty({ format: 'date-time', example: '2025-07-28T14:21:30.123Z' })
  at!: string;
}
