import { Body, Controller, HttpCode, HttpStatus, Post, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrors, ErrorCase } from '../common/decorators/api-errors.decorator';
import { KbScope, RequireRole } from '../common/decorators/auth.decorators';
import { EXAMPLE_TASK_ID, TaskIdParam } from '../common/decorators/path-param.decorator';
import { ErrorCode } from '../common/errors/error-codes';
import { Role } from '../common/security/roles';
import { leaseEndedMessage } from '../task-engine/lease-refusal';
import type { LeasedTask } from '../task-engine/task-lease.repository';
import { TaskStatus } from '../task-types/task-types';
import { TaskResponseDto } from '../tasks/dto/task-response.dto';
import { TaskPresenterService } from '../tasks/task-presenter.service';
import {
  CompleteLeasedTaskDto,
  FailLeasedTaskDto,
  HeartbeatDto,
  HeartbeatResponseDto,
  LeasedTaskDto,
  LeaseRequestDto,
  LeaseResponseDto,
} from './dto/lease.dto';
import { TaskLeaseService } from './task-lease.service';

/** What every call under a lease may be refused with, besides validation; TASK_NOT_PROCESSING as the example task (completed) answers. */
const LEASE_REFUSALS: ErrorCase[] = [
  ErrorCode.TaskNotFound,
  ErrorCode.TaskCancelled,
  ErrorCode.LeaseExpired,
  ErrorCode.LeaseLost,
  [
    ErrorCode.TaskNotProcessing,
    leaseEndedMessage(TaskStatus.completed),
    { task_id: EXAMPLE_TASK_ID, status: TaskStatus.completed },
  ],
  ErrorCode.ServiceUnavailable,
];

/**
 * External workers over REST (docs/external-workers.md): a worker in any language leases
 * tasks of EXTERNAL_TASK_TYPES, heartbeats while it runs them, and completes or fails each
 * under its lease token. All of it needs the `worker` role; a key limited to some kbs leases
 * only their tasks (and the guard keeps the task routes inside them).
 */
@ApiTags('external workers')
@Controller('api/v1')
export class ExternalWorkersController {
  constructor(
    private readonly leases: TaskLeaseService,
    private readonly presenter: TaskPresenterService,
  ) {}

  @Post('workers/lease')
  @RequireRole(Role.Worker)
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Lease up to max_tasks due tasks of external task types; waits up to wait_seconds when none is due',
  })
  @ApiOkResponse({ type: LeaseResponseDto })
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.ServiceUnavailable)
  async lease(
    @Body() dto: LeaseRequestDto,
    @KbScope() kbScope: readonly string[] | null,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<LeaseResponseDto> {
    const gone = new AbortController();
    const onClose = () => {
      if (!res.raw.writableFinished) gone.abort();
    };
    res.raw.once('close', onClose);
    try {
      const leased = await this.leases.lease(dto, kbScope, gone.signal);
      return { tasks: leased.map(toLeasedTaskDto) };
    } finally {
      res.raw.off('close', onClose);
    }
  }

  @Post('tasks/:task_id/heartbeat')
  @RequireRole(Role.Worker)
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Extend a lease (and report progress); 409 TASK_CANCELLED tells the worker to stop',
  })
  @ApiOkResponse({ type: HeartbeatResponseDto })
  @ApiErrors(ErrorCode.InvalidRequest, ...LEASE_REFUSALS)
  async heartbeat(@TaskIdParam() id: string, @Body() dto: HeartbeatDto): Promise<HeartbeatResponseDto> {
    const { task, leaseToken, leaseExpiresAt } = await this.leases.heartbeat(
      id,
      dto.lease_token,
      dto.lease_seconds ?? null,
      dto.progress ?? null,
      dto.message ?? null,
    );
    return {
      task_id: task.id,
      lease_token: leaseToken,
      lease_expires_at: leaseExpiresAt.toISOString(),
      progress: task.progress,
    };
  }

  @Post('tasks/:task_id/complete')
  @RequireRole(Role.Worker)
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Complete a leased task with its result' })
  @ApiOkResponse({ type: TaskResponseDto })
  @ApiErrors(ErrorCode.InvalidRequest, ...LEASE_REFUSALS)
  async complete(@TaskIdParam() id: string, @Body() dto: CompleteLeasedTaskDto): Promise<TaskResponseDto> {
    return this.presenter.present(await this.leases.complete(id, dto.lease_token, dto.result));
  }

  @Post('tasks/:task_id/fail')
  @RequireRole(Role.Worker)
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Fail a leased attempt: retryable ones are queued again (with backoff) while retries are left',
  })
  @ApiOkResponse({ type: TaskResponseDto })
  @ApiErrors(ErrorCode.InvalidRequest, ...LEASE_REFUSALS)
  async fail(@TaskIdParam() id: string, @Body() dto: FailLeasedTaskDto): Promise<TaskResponseDto> {
    return this.presenter.present(await this.leases.fail(id, dto.lease_token, dto.error, dto.retryable));
  }
}

function toLeasedTaskDto({ task, leaseToken, leaseExpiresAt }: LeasedTask): LeasedTaskDto {
  return {
    id: task.id,
    kb_id: task.kbId,
    task_type: task.taskType,
    priority: task.priority,
    payload: task.payload,
    attempt: task.attempt,
    max_retries: task.maxRetries,
    timeout: task.timeoutSeconds,
    lease_token: leaseToken,
    lease_expires_at: leaseExpiresAt.toISOString(),
  };
}
