import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyReply } from 'fastify';
import { InvalidRequestError, TaskNotFoundError } from '../common/errors/domain.error';
import type { AllConfig } from '../config/app.config';
import { TaskQueryRepository } from '../task-engine/task-query.repository';
import type { TaskRecord } from '../task-types/task-record';
import { TaskStatus, TERMINAL_STATUSES } from '../task-types/task-types';
import { WebhookDeliveryDto } from '../webhooks/dto/webhook-delivery.dto';
import { WebhookDeliveryRecord, WebhookDeliveryRepository } from '../webhooks/webhook-delivery.repository';
import { TaskEventDto } from './dto/task-event.dto';
import { TaskHistoryDto } from './dto/task-history.dto';
import { SseStream } from './sse-stream';
import { attemptsFrom } from './task-attempts';
import { TaskEventFeedService } from './task-event-feed.service';
import { TaskEventFilter, TaskEventRecord, TaskEventRepository } from './task-event.repository';

const EVENT_ID = /^\d{1,18}$/;
const REPLAY_PAGE = 500;

interface StreamOptions {
  /**
   * A task's events are appended under its row lock, so their ids are in commit order and
   * the event id is an exact resume point. Across tasks a lower id can commit after a higher
   * one; those streams label each message with the feed's safe id instead, so a resume may
   * repeat an event (same event_id) but never skips one.
   */
  exactIds: boolean;
  /** Task streams end once the task is finished; the status it had when the stream opened. */
  endWhenFinished?: TaskStatus;
}

/**
 * Task events over SSE and a task's history. A stream subscribes to this process's live
 * feed first, then replays from PostgreSQL what the client has not seen (everything after
 * Last-Event-ID; a task's whole history when a task stream starts fresh), then forwards the
 * live events it buffered meanwhile without repeating any — so nothing falls between replay
 * and live.
 */
@Injectable()
export class TaskEventStreamService {
  private readonly logger = new Logger(TaskEventStreamService.name);
  private readonly heartbeatMs: number;

  constructor(
    private readonly feed: TaskEventFeedService,
    private readonly events: TaskEventRepository,
    private readonly tasks: TaskQueryRepository,
    private readonly deliveries: WebhookDeliveryRepository,
    config: ConfigService<AllConfig, true>,
  ) {
    this.heartbeatMs = config.getOrThrow('events.heartbeatMs', { infer: true });
  }

  /** One task's events; without Last-Event-ID its history first. Ends with an `end` event once the task is finished. */
  async streamTask(taskId: string, lastEventId: string | undefined, res: FastifyReply): Promise<void> {
    const after = parseEventId(lastEventId) ?? 0n;
    const task = await this.load(taskId);
    await this.stream(res, { taskId }, after, { exactIds: true, endWhenFinished: task.status });
  }

  /** Events of a kb and/or task type (all when neither); from now on, or after Last-Event-ID. */
  async streamMany(filter: TaskEventFilter, lastEventId: string | undefined, res: FastifyReply): Promise<void> {
    await this.stream(res, filter, parseEventId(lastEventId), { exactIds: false });
  }

  async history(taskId: string): Promise<TaskHistoryDto> {
    const task = await this.load(taskId);
    const [events, deliveries] = await Promise.all([
      this.events.findByTask(task.id),
      this.deliveries.findByTask(task.id),
    ]);
    return {
      task_id: task.id,
      status: task.status,
      attempts: attemptsFrom(events).map((a) => ({
        attempt: a.attempt,
        outcome: a.outcome,
        worker_id: a.workerId,
        started_at: a.startedAt.toISOString(),
        ended_at: a.endedAt?.toISOString() ?? null,
        duration_seconds: a.durationSeconds,
        error: a.error,
      })),
      events: events.map(toEventDto),
      webhook_deliveries: deliveries.map(toDeliveryDto),
    };
  }

  private async stream(
    res: FastifyReply,
    filter: TaskEventFilter,
    after: bigint | null,
    options: StreamOptions,
  ): Promise<void> {
    // Live events wait here until the replay is out.
    const buffered: TaskEventRecord[] = [];
    let live = false;
    const subscription = await this.feed.subscribe(filter, (event) => {
      if (live) emit(event);
      else buffered.push(event);
    });
    // Every live event is above this id; replayed events above it may arrive live again.
    const liveFloor = this.feed.safeId();
    const replayed = new Set<bigint>();
    let last: TaskEventRecord | undefined;

    const sse = new SseStream(res, this.heartbeatMs);
    sse.onClose(() => {
      subscription.unsubscribe();
    });
    const send = (event: TaskEventRecord) => {
      const id = options.exactIds ? event.id : min(event.id, this.feed.safeId());
      sse.send({ id: id.toString(), data: toEventDto(event) });
      last = event;
    };
    const finish = (status: TaskStatus) => {
      sse.send({ event: 'end', data: { task_id: filter.taskId, status } });
      sse.end();
    };
    const emit = (event: TaskEventRecord) => {
      if (sse.isClosed || replayed.has(event.id)) return;
      send(event);
      if (options.endWhenFinished && TERMINAL_STATUSES.includes(event.status)) finish(event.status);
    };

    try {
      if (after === null) {
        // A resume point before anything has happened, so a reconnect right away loses nothing.
        sse.send({ id: liveFloor.toString(), event: 'ready', data: {} });
      } else {
        let cursor = after;
        for (;;) {
          const page = await this.events.findAfter(filter, cursor, REPLAY_PAGE);
          for (const event of page) {
            send(event);
            if (event.id > liveFloor) replayed.add(event.id);
            cursor = event.id;
          }
          if (page.length < REPLAY_PAGE || sse.isClosed) break;
        }
      }
    } catch (error) {
      // Headers are out, so no error body can follow: end the stream; the client resumes from its last id.
      this.logger.warn(`Replaying task events failed: ${(error as Error).message}`);
      sse.end();
      return;
    }
    if (options.endWhenFinished) {
      const status = last?.status ?? options.endWhenFinished;
      if (TERMINAL_STATUSES.includes(status) && !buffered.some((e) => !replayed.has(e.id))) {
        finish(status);
        return;
      }
    }
    live = true;
    for (const event of buffered.splice(0)) emit(event);
  }

  private async load(taskId: string): Promise<TaskRecord> {
    const task = await this.tasks.findById(taskId);
    if (!task) throw new TaskNotFoundError(taskId);
    return task;
  }
}

function parseEventId(value: string | undefined): bigint | null {
  if (value === undefined || value.trim() === '') return null;
  if (!EVENT_ID.test(value.trim())) {
    throw new InvalidRequestError('Last-Event-ID must be the id of an event this service sent', {
      fields: { 'Last-Event-ID': ['must be a non-negative integer'] },
    });
  }
  return BigInt(value.trim());
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function toEventDto(event: TaskEventRecord): TaskEventDto {
  return {
    event_id: Number(event.id),
    task_id: event.taskId,
    kb_id: event.kbId,
    task_type: event.taskType,
    type: event.kind,
    status: event.status,
    progress: event.progress,
    message: event.message,
    attempt: event.attempt,
    error: event.error,
    worker_id: event.workerId,
    at: event.at.toISOString(),
  };
}

function toDeliveryDto(delivery: WebhookDeliveryRecord): WebhookDeliveryDto {
  return {
    event_id: Number(delivery.eventId),
    attempt: delivery.attempt,
    url: delivery.url,
    status_code: delivery.statusCode,
    error: delivery.error,
    duration_ms: delivery.durationMs,
    succeeded: delivery.succeeded,
    at: delivery.at.toISOString(),
  };
}
