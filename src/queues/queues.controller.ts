import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/decorators/api-errors.decorator';
import { ErrorCode } from '../common/errors/error-codes';
import { QueueInfoQueryDto, QueueInfoResponseDto } from './dto/queue-info.dto';
import { TaskQueueService } from './task-queue.service';
import { TASK_PRIORITIES, TASK_TYPES } from './task-types';

@ApiTags('queues')
@Controller('api/v1/queues')
export class QueuesController {
  constructor(private readonly queues: TaskQueueService) {}

  @Get('info')
  @ApiOperation({ summary: 'Queue size for a task type and/or priority' })
  @ApiOkResponse({ type: QueueInfoResponseDto })
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.ServiceUnavailable)
  async info(@Query() query: QueueInfoQueryDto): Promise<QueueInfoResponseDto> {
    const types = query.task_type ? [query.task_type] : TASK_TYPES;
    const priorities = query.priority ? [query.priority] : TASK_PRIORITIES;
    const perType = await Promise.all(types.map((type) => this.queues.waitingByPriority(type)));
    const queue_size = perType.reduce((sum, counts) => sum + priorities.reduce((s, p) => s + counts[p], 0), 0);
    const queue_key = ['task_queue', query.task_type, query.priority].filter(Boolean).join(':');
    return { queue_size, queue_key };
  }
}
