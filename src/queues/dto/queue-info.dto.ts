import { ApiProperty } from '@nestjs/swagger';
import { EnumField } from '../../common/decorators/validation.decorators';
import { TASK_PRIORITIES, TASK_TYPES, TaskPriority, TaskType } from '../task-types';

/** `GET /api/v1/queues/info`: narrow the count to one task type and/or one priority. */
export class QueueInfoQueryDto {
  @EnumField(TASK_TYPES, { required: false, example: TaskType.document_processing })
  task_type?: TaskType;

  @EnumField(TASK_PRIORITIES, { required: false, example: TaskPriority.high })
  priority?: TaskPriority;
}

export class QueueInfoResponseDto {
  @ApiProperty({ example: 25, description: 'Tasks ready to run and waiting for a worker (not delayed, not running)' })
  queue_size!: number;

  @ApiProperty({
    example: 'task_queue:document_processing:high',
    description: 'Logical queue name: task_queue[:<task_type>][:<priority>] for the filters given',
  })
  queue_key!: string;
}
