import { Body, Controller, Delete, Get, Headers, HttpCode, HttpStatus, Post, Put, Query, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
  ApiExtraModels,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrors } from '../common/decorators/api-errors.decorator';
import { CallerId, KbScope, RequireRole } from '../common/decorators/auth.decorators';
import { TaskIdParam } from '../common/decorators/path-param.decorator';
import { RawBody } from '../common/decorators/raw-body.decorator';
import { ErrorCode } from '../common/errors/error-codes';
import { Role } from '../common/security/roles';
import { CreateTaskDto } from '../task-types/create-task.dto';
import { PAYLOAD_DTOS } from '../task-types/task-type-registry';
import { ListTasksQueryDto } from './dto/list-tasks-query.dto';
import {
  BatchCreateResponseDto,
  CancelTaskResponseDto,
  TaskListResponseDto,
  TaskResponseDto,
} from './dto/task-response.dto';
import { UpdateProgressDto } from './dto/update-progress.dto';
import type { IdempotencyRequest } from './idempotency.service';
import { MAX_BATCH_SIZE, ParseTaskBatchPipe } from './parse-task-batch.pipe';
import { ParseTaskPipe } from './parse-task.pipe';
import { Created, TasksService } from './tasks.service';

const IDEMPOTENCY_KEY = ApiHeader({
  name: 'Idempotency-Key',
  required: false,
  description:
    'Makes the create safe to repeat: the same key with the same body returns the original task(s) (header Idempotent-Replayed: true); with another body, 409 IDEMPOTENCY_KEY_REUSED. ' +
    'A key is scoped by the caller (API key or token subject) and the kb: other callers and other kbs never see it.',
});

/** The Idempotency-Key with the caller it belongs to, when one is sent. */
function idempotency(key: string | undefined, caller: string | null): IdempotencyRequest | undefined {
  return key === undefined ? undefined : { key, caller };
}

/** Marks a replayed create so a client can tell it from a fresh one; the status stays 201. */
function replayAware<T>(res: FastifyReply, created: Created<T>): T {
  if (created.replayed) res.header('Idempotent-Replayed', 'true');
  return created.body;
}

@ApiTags('tasks')
@ApiExtraModels(CreateTaskDto, ...PAYLOAD_DTOS)
@Controller('api/v1/tasks')
export class TasksController {
  constructor(private readonly tasks: TasksService) {}

  @Post()
  @ApiOperation({ summary: 'Submit a task to its queue' })
  @ApiBody({ type: CreateTaskDto })
  @IDEMPOTENCY_KEY
  @ApiCreatedResponse({ type: TaskResponseDto })
  @ApiErrors(
    ErrorCode.InvalidRequest,
    ErrorCode.IdempotencyKeyReused,
    ErrorCode.QueueFull,
    ErrorCode.ServiceUnavailable,
  )
  async create(
    @RawBody(ParseTaskPipe) dto: CreateTaskDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @CallerId() caller: string | null,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<TaskResponseDto> {
    return replayAware(res, await this.tasks.create(dto, idempotency(idempotencyKey, caller)));
  }

  @Post('batch')
  @ApiOperation({
    summary: `Submit 1–${MAX_BATCH_SIZE} tasks at once; one invalid item rejects the whole batch and nothing is stored`,
  })
  @ApiBody({ schema: { type: 'array', items: { $ref: getSchemaPath(CreateTaskDto) }, maxItems: MAX_BATCH_SIZE } })
  @IDEMPOTENCY_KEY
  @ApiCreatedResponse({ type: BatchCreateResponseDto })
  @ApiErrors(
    ErrorCode.InvalidRequest,
    ErrorCode.IdempotencyKeyReused,
    ErrorCode.QueueFull,
    ErrorCode.ServiceUnavailable,
  )
  async createBatch(
    @Body(ParseTaskBatchPipe) dtos: CreateTaskDto[],
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @CallerId() caller: string | null,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<BatchCreateResponseDto> {
    return replayAware(res, await this.tasks.createBatch(dtos, idempotency(idempotencyKey, caller)));
  }

  @Get()
  @ApiOperation({ summary: 'List tasks with filters, sorting and paging' })
  @ApiOkResponse({ type: TaskListResponseDto })
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.ServiceUnavailable)
  list(@Query() query: ListTasksQueryDto, @KbScope() kbScope: readonly string[] | null): Promise<TaskListResponseDto> {
    return this.tasks.list(query, kbScope);
  }

  @Get(':task_id')
  @ApiOperation({ summary: 'One task with its live queue position and estimated completion' })
  @ApiOkResponse({ type: TaskResponseDto })
  @ApiErrors(ErrorCode.TaskNotFound, ErrorCode.ServiceUnavailable)
  get(@TaskIdParam() id: string): Promise<TaskResponseDto> {
    return this.tasks.get(id);
  }

  @Delete(':task_id')
  @ApiOperation({ summary: 'Cancel a queued or processing task (status becomes cancelled)' })
  @ApiOkResponse({ type: CancelTaskResponseDto })
  @ApiErrors(ErrorCode.TaskNotFound, ErrorCode.TaskNotCancelable, ErrorCode.ServiceUnavailable)
  cancel(@TaskIdParam() id: string): Promise<CancelTaskResponseDto> {
    return this.tasks.cancel(id);
  }

  @Post(':task_id/retry')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Re-queue a failed or cancelled task; counts as a retry' })
  @ApiOkResponse({ type: TaskResponseDto })
  @ApiErrors(ErrorCode.TaskNotFound, ErrorCode.TaskNotRetryable, ErrorCode.ServiceUnavailable)
  retry(@TaskIdParam() id: string): Promise<TaskResponseDto> {
    return this.tasks.retry(id);
  }

  @Put(':task_id/progress')
  @RequireRole(Role.Worker)
  @ApiOperation({
    summary:
      'Report progress of a processing task (usually called by a worker; an external worker adds its lease_token)',
  })
  @ApiOkResponse({ type: TaskResponseDto })
  @ApiErrors(
    ErrorCode.InvalidRequest,
    ErrorCode.TaskNotFound,
    ErrorCode.TaskNotProcessing,
    ErrorCode.TaskCancelled,
    ErrorCode.LeaseExpired,
    ErrorCode.LeaseLost,
    ErrorCode.ServiceUnavailable,
  )
  updateProgress(@TaskIdParam() id: string, @Body() dto: UpdateProgressDto): Promise<TaskResponseDto> {
    return this.tasks.updateProgress(id, dto);
  }
}
