import { ApiProperty } from '@nestjs/swagger';
import { EnumField } from '../../common/decorators/validation.decorators';
import { TASK_PRIORITIES, TASK_TYPES, TaskPriority, TaskType } from '../../task-types/task-types';

/** `GET /api/v1/queues/info`: narrow the count to one task type and/or one priority. */
export class QueueInfoQueryDto {
  @EnumField(TASK_TYPES, { required: false, example: TaskType.document_processing })
  task_type?: TaskType;

  @EnumField(TASK_PRIORITIES, { required: false, example: TaskPriority.high })
  priority?: TaskPriority;
}

export class QueueInfoResponseDto {
  @ApiProperty({
    type: 'integer',
    example: 25,
    description: 'Tasks ready to run and waiting for a worker (not delayed, not running)',
  })
  queue_size!: number;

  @ApiProperty({
    example: 'task_queue:document_processing:high',
    description: 'Logical queue name: task_queue[:<task_type>][:<priority>] for the filters given',
  })
  queue_key!: string;
}

/** `POST /api/v1/queues/{task_type}/pause|resume`. */
export class QueueParamsDto {
  @EnumField(TASK_TYPES, {
    example: TaskType.health_check,
    description: 'The task type whose queue to act on (the example names the least consequential queue to pause)',
  })
  task_type!: TaskType;
}

export class WaitingByPriorityDto {
  @ApiProperty({ type: 'integer', example: 0 }) critical!: number;
  @ApiProperty({ type: 'integer', example: 2 }) high!: number;
  @ApiProperty({ type: 'integer', example: 10 }) normal!: number;
  @ApiProperty({ type: 'integer', example: 1 }) low!: number;
}

/** One task type's queue as BullMQ sees it. */
export class QueueStateDto {
  @ApiProperty({ enum: TASK_TYPES, example: TaskType.document_processing })
  task_type!: TaskType;

  @ApiProperty({ example: false, description: 'Paused: no worker takes its jobs until it is resumed' })
  paused!: boolean;

  @ApiProperty({
    type: 'integer',
    example: 13,
    description: 'Ready to run, waiting for a worker (or for the queue to be resumed)',
  })
  waiting!: number;

  @ApiProperty({ type: WaitingByPriorityDto })
  waiting_by_priority!: WaitingByPriorityDto;

  @ApiProperty({ type: 'integer', example: 3, description: 'Scheduled for later, or waiting out a retry backoff' })
  delayed!: number;

  @ApiProperty({ type: 'integer', example: 4, description: 'Running now' })
  active!: number;

  @ApiProperty({
    type: 'integer',
    example: 1,
    description: 'Jobs that failed for good and are still kept in Redis (24 h)',
  })
  failed!: number;

  @ApiProperty({ type: 'integer', example: 120, description: 'Finished jobs still kept in Redis (1 h)' })
  completed!: number;
}

export class QueueListDto {
  @ApiProperty({ type: [QueueStateDto] })
  queues!: QueueStateDto[];
}
