import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags, getSchemaPath, ApiExtraModels } from '@nestjs/swagger';
import { ApiErrors } from '../common/decorators/api-errors.decorator';
import { ErrorCode } from '../common/errors/error-codes';
import { CreateTaskDto } from './dto/create-task.dto';
import { ListTasksQueryDto } from './dto/list-tasks-query.dto';
import { BatchCreateResponseDto, CancelTaskResponseDto, TaskListResponseDto, TaskResponseDto } from './dto/task-response.dto';
import { UpdateProgressDto } from './dto/update-progress.dto';
import { MAX_BATCH_SIZE, ParseTaskBatchPipe } from './parse-task-batch.pipe';
import { TasksService } from './tasks.service';

const TASK_ID = ApiParam({ name: 'task_id', format: 'uuid', example: '550e8400-e29b-41d4-a716-446655440000' });

@ApiTags('tasks')
@ApiExtraModels(CreateTaskDto)
@Controller('api/v1/tasks')
export class TasksController {
  constructor(private readonly tasks: TasksService) {}

  @Post()
  @ApiOperation({ summary: 'Submit a task to its queue' })
  @ApiCreatedResponse({ type: TaskResponseDto })
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.ServiceUnavailable)
  create(@Body() dto: CreateTaskDto): Promise<TaskResponseDto> {
    return this.tasks.create(dto);
  }

  @Post('batch')
  @ApiOperation({ summary: `Submit 1–${MAX_BATCH_SIZE} tasks at once; one invalid item rejects the whole batch and nothing is stored` })
  @ApiBody({ schema: { type: 'array', items: { $ref: getSchemaPath(CreateTaskDto) }, maxItems: MAX_BATCH_SIZE } })
  @ApiCreatedResponse({ type: BatchCreateResponseDto })
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.ServiceUnavailable)
  createBatch(@Body(ParseTaskBatchPipe) dtos: CreateTaskDto[]): Promise<BatchCreateResponseDto> {
    return this.tasks.createBatch(dtos);
  }

  @Get()
  @ApiOperation({ summary: 'List tasks with filters, sorting and paging' })
  @ApiOkResponse({ type: TaskListResponseDto })
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.ServiceUnavailable)
  list(@Query() query: ListTasksQueryDto): Promise<TaskListResponseDto> {
    return this.tasks.list(query);
  }

  @Get(':task_id')
  @TASK_ID
  @ApiOperation({ summary: 'One task with its live queue position and estimated completion' })
  @ApiOkResponse({ type: TaskResponseDto })
  @ApiErrors(ErrorCode.TaskNotFound, ErrorCode.ServiceUnavailable)
  get(@Param('task_id') id: string): Promise<TaskResponseDto> {
    return this.tasks.get(id);
  }

  @Delete(':task_id')
  @TASK_ID
  @ApiOperation({ summary: 'Cancel a queued or processing task (status becomes cancelled)' })
  @ApiOkResponse({ type: CancelTaskResponseDto })
  @ApiErrors(ErrorCode.TaskNotFound, ErrorCode.TaskNotCancelable, ErrorCode.ServiceUnavailable)
  cancel(@Param('task_id') id: string): Promise<CancelTaskResponseDto> {
    return this.tasks.cancel(id);
  }

  @Post(':task_id/retry')
  @HttpCode(HttpStatus.OK)
  @TASK_ID
  @ApiOperation({ summary: 'Re-queue a failed or cancelled task; counts as a retry' })
  @ApiOkResponse({ type: TaskResponseDto })
  @ApiErrors(ErrorCode.TaskNotFound, ErrorCode.TaskNotRetryable, ErrorCode.ServiceUnavailable)
  retry(@Param('task_id') id: string): Promise<TaskResponseDto> {
    return this.tasks.retry(id);
  }

  @Put(':task_id/progress')
  @TASK_ID
  @ApiOperation({ summary: 'Report progress of a processing task (usually called by a worker)' })
  @ApiOkResponse({ type: TaskResponseDto })
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.TaskNotFound, ErrorCode.TaskNotProcessing, ErrorCode.ServiceUnavailable)
  updateProgress(@Param('task_id') id: string, @Body() dto: UpdateProgressDto): Promise<TaskResponseDto> {
    return this.tasks.updateProgress(id, dto);
  }
}
