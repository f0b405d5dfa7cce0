import { Body, Controller, Get, HttpCode, HttpStatus, Post, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrors } from '../common/decorators/api-errors.decorator';
import { KbScope } from '../common/decorators/auth.decorators';
import { EXAMPLE_BULK_OPERATION_ID, UuidParam } from '../common/decorators/path-param.decorator';
import { ErrorCode } from '../common/errors/error-codes';
import { BulkAction, BulkOperationDto, BulkTaskFilterDto } from './dto/bulk-action.dto';
import { BULK_OPERATION_NOT_FOUND, TaskBulkService } from './task-bulk.service';

const DONE = ApiOkResponse({ type: BulkOperationDto, description: 'Done: at most BULK_SYNC_LIMIT tasks matched' });
const ACCEPTED = ApiAcceptedResponse({
  type: BulkOperationDto,
  description:
    'More than BULK_SYNC_LIMIT tasks matched: running in the background; follow the Location (GET /api/v1/tasks/bulk/{id})',
  headers: {
    Location: { description: 'Where to follow the operation: /api/v1/tasks/bulk/{id}', schema: { type: 'string' } },
  },
});

/**
 * Bulk cancel and retry. Listed before TasksController in TasksModule, so
 * `POST /api/v1/tasks/bulk/retry` is not taken for the retry of a task with id "bulk".
 */
@ApiTags('tasks')
@Controller('api/v1/tasks/bulk')
export class TaskBulkController {
  constructor(private readonly bulk: TaskBulkService) {}

  @Post('cancel')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Cancel every queued or processing task matching a filter, in batches' })
  @DONE
  @ACCEPTED
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.ServiceUnavailable)
  cancel(
    @Body() filter: BulkTaskFilterDto,
    @KbScope() scope: readonly string[] | null,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<BulkOperationDto> {
    return this.start('cancel', filter, scope, res);
  }

  @Post('retry')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Re-queue every failed or cancelled task matching a filter, in batches' })
  @DONE
  @ACCEPTED
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.ServiceUnavailable)
  retry(
    @Body() filter: BulkTaskFilterDto,
    @KbScope() scope: readonly string[] | null,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<BulkOperationDto> {
    return this.start('retry', filter, scope, res);
  }

  @Get(':operation_id')
  @ApiOperation({ summary: 'Progress and outcome of a bulk action (kept 24 hours)' })
  @ApiOkResponse({ type: BulkOperationDto })
  @ApiErrors(
    [ErrorCode.NotFound, BULK_OPERATION_NOT_FOUND, { operation_id: '6f1c2b9e-0a4d-4e3b-9f2a-1c5d7e8f9a0b' }],
    ErrorCode.ServiceUnavailable,
  )
  get(
    @UuidParam(
      'operation_id',
      'Bulk operation id (a UUID). The example is a finished bulk retry the service keeps recorded.',
      BULK_OPERATION_NOT_FOUND,
      EXAMPLE_BULK_OPERATION_ID,
    )
    id: string,
    @KbScope() scope: readonly string[] | null,
  ): Promise<BulkOperationDto> {
    return this.bulk.get(id, scope);
  }

  private async start(
    action: BulkAction,
    filter: BulkTaskFilterDto,
    scope: readonly string[] | null,
    res: FastifyReply,
  ): Promise<BulkOperationDto> {
    const { operation, finished } = await this.bulk.start(action, filter, scope);
    if (!finished) res.status(HttpStatus.ACCEPTED).header('Location', `/api/v1/tasks/bulk/${operation.id}`);
    return operation;
  }
}
