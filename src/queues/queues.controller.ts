import { Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/decorators/api-errors.decorator';
import { RequireRole } from '../common/decorators/auth.decorators';
import { ErrorCode } from '../common/errors/error-codes';
import { Role } from '../common/security/roles';
import { TASK_PRIORITIES, TASK_TYPES, TaskType } from '../task-types/task-types';
import {
  QueueInfoQueryDto,
  QueueInfoResponseDto,
  QueueListDto,
  QueueParamsDto,
  QueueStateDto,
} from './dto/queue-info.dto';
import { TaskQueueService } from './task-queue.service';

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

  @Get()
  @ApiOperation({ summary: 'Every task queue: paused or not, waiting (by priority), delayed, active, failed' })
  @ApiOkResponse({ type: QueueListDto })
  @ApiErrors(ErrorCode.ServiceUnavailable)
  async list(): Promise<QueueListDto> {
    return { queues: await Promise.all(TASK_TYPES.map((type) => this.state(type))) };
  }

  @Post(':task_type/pause')
  @RequireRole(Role.Admin)
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Stop dispatching a task type in every worker; running tasks finish, new ones still queue' })
  @ApiOkResponse({ type: QueueStateDto })
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.ServiceUnavailable)
  async pause(@Param() params: QueueParamsDto): Promise<QueueStateDto> {
    await this.queues.pause(params.task_type);
    return this.state(params.task_type);
  }

  @Post(':task_type/resume')
  @RequireRole(Role.Admin)
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Resume dispatching a paused task type' })
  @ApiOkResponse({ type: QueueStateDto })
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.ServiceUnavailable)
  async resume(@Param() params: QueueParamsDto): Promise<QueueStateDto> {
    await this.queues.resume(params.task_type);
    return this.state(params.task_type);
  }

  private async state(type: TaskType): Promise<QueueStateDto> {
    const [paused, counts, byPriority] = await Promise.all([
      this.queues.isPaused(type),
      this.queues.counts(type),
      this.queues.waitingByPriority(type),
    ]);
    return {
      task_type: type,
      paused,
      waiting: counts.waiting + counts.prioritized + counts.paused,
      waiting_by_priority: byPriority,
      delayed: counts.delayed,
      active: counts.active,
      failed: counts.failed,
      completed: counts.completed,
    };
  }
}
