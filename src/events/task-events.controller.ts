import { Controller, Get, Headers, Query, Res } from '@nestjs/common';
import { ApiExtraModels, ApiHeader, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrors } from '../common/decorators/api-errors.decorator';
import { KbScope } from '../common/decorators/auth.decorators';
import { TaskIdParam } from '../common/decorators/path-param.decorator';
import { ErrorCode } from '../common/errors/error-codes';
import { TaskEventDto, TaskEventsQueryDto } from './dto/task-event.dto';
import { TaskHistoryDto } from './dto/task-history.dto';
import { TaskEventStreamService } from './task-event-stream.service';

const LAST_EVENT_ID = ApiHeader({
  name: 'Last-Event-ID',
  required: false,
  description:
    'Resume after this event id (EventSource sends it by itself when it reconnects); replays what was missed',
});
const EVENT_STREAM = ApiOkResponse({
  description:
    'text/event-stream. Each message: `id: <event id>` and `data: <TaskEventDto as JSON>`. A `: heartbeat` comment is sent every EVENTS_HEARTBEAT_MS while idle.',
  content: {
    'text/event-stream': {
      schema: { type: 'string', description: 'Messages whose data is a TaskEventDto (see Schemas)' },
      example:
        'retry: 3000\n\nid: 18342\ndata: {"event_id":18342,"task_id":"550e8400-e29b-41d4-a716-446655440000","kb_id":"kb_123","task_type":"health_check","type":"progress","status":"processing","progress":40,"message":"Probe round 2 of 5","attempt":1,"error":null,"worker_id":"worker_host-1_4242_a1b2","at":"2025-07-28T14:21:30.123Z"}\n\n: heartbeat 2025-07-28T14:21:45.000Z\n\n',
    },
  },
});

/**
 * Live task events (Server-Sent Events) and task history. Registered before TasksController
 * (see AppModule), so `GET /api/v1/tasks/events` is not taken for a task id.
 */
@ApiTags('events')
@ApiExtraModels(TaskEventDto)
@Controller('api/v1/tasks')
export class TaskEventsController {
  constructor(private readonly streams: TaskEventStreamService) {}

  @Get('events')
  @ApiOperation({
    summary: 'Live events of many tasks (SSE): a knowledge base and/or task type, or all',
    description:
      'Every status change and progress report of matching tasks as it happens, whichever process made it. Starts with an `event: ready` message carrying a resume id; with Last-Event-ID it first replays what was missed. A resumed stream may repeat an event (same event_id) but never skips one.',
  })
  @ApiProduces('text/event-stream')
  @LAST_EVENT_ID
  @EVENT_STREAM
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.ServiceUnavailable)
  async streamMany(
    @Query() query: TaskEventsQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @KbScope() scope: readonly string[] | null,
    @Res() res: FastifyReply,
  ): Promise<void> {
    await this.streams.streamMany(
      { kbId: query.kb_id, taskType: query.task_type, kbIds: scope ?? undefined },
      lastEventId,
      res,
    );
  }

  @Get(':task_id/events')
  @ApiOperation({
    summary: "One task's events (SSE), ending when it finishes",
    description:
      'Its history so far (or what followed Last-Event-ID), then every change as it happens. Once the task is completed, failed or cancelled the server sends `event: end` and closes the stream; an EventSource should close itself on `end` rather than reconnect.',
  })
  @ApiProduces('text/event-stream')
  @LAST_EVENT_ID
  @EVENT_STREAM
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.TaskNotFound, ErrorCode.ServiceUnavailable)
  async streamTask(
    @TaskIdParam() taskId: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() res: FastifyReply,
  ): Promise<void> {
    await this.streams.streamTask(taskId, lastEventId, res);
  }

  @Get(':task_id/history')
  @ApiOperation({
    summary:
      'Every state change and progress report of a task, its attempts with durations and errors, and its webhook deliveries',
  })
  @ApiOkResponse({ type: TaskHistoryDto })
  @ApiErrors(ErrorCode.TaskNotFound, ErrorCode.ServiceUnavailable)
  history(@TaskIdParam() taskId: string): Promise<TaskHistoryDto> {
    return this.streams.history(taskId);
  }
}
