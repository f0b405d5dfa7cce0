import { Injectable, Logger } from '@nestjs/common';
import { DomainError, TaskNotFoundError } from '../common/errors/domain.error';
import { ErrorCode } from '../common/errors/error-codes';
import { TaskMetricsService } from '../metrics/task-metrics.service';
import { TaskQueueService } from '../queues/task-queue.service';
import { TaskPriority, TaskStatus, TERMINAL_STATUSES } from '../queues/task-types';
import { CreateTaskDto, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_SECONDS } from './dto/create-task.dto';
import { ListTasksQueryDto } from './dto/list-tasks-query.dto';
import { BatchCreateResponseDto, CancelTaskResponseDto, TaskListResponseDto, TaskResponseDto } from './dto/task-response.dto';
import { UpdateProgressDto } from './dto/update-progress.dto';
import { Prisma } from '../generated/prisma/client';
import { IdempotencyRequest, IdempotencyService, IdempotentKind, IdempotentOutcome } from './idempotency.service';
import { TaskAdmissionService } from './task-admission.service';
import { TaskFamilyService } from './task-family.service';
import { TaskPresenterService } from './task-presenter.service';
import { NewTask, TaskRecord, TasksRepository } from './tasks.repository';
import { errorMessage } from '../common/errors/error-message';

/** A create's response, and whether it replays an earlier request with the same Idempotency-Key. */
export interface Created<T> {
  body: T;
  replayed: boolean;
}

const RETRYABLE: readonly TaskStatus[] = [TaskStatus.failed, TaskStatus.cancelled];
/** How often a state change racing ours is re-read before giving up. */
const RACE_RETRIES = 3;

/**
 * The task use cases behind the REST API. PostgreSQL is written first and is the truth;
 * Redis is told afterwards, and a dispatch that fails is left to the reconciler, so an
 * accepted task is never lost to a Redis outage.
 */
@Injectable()
export class TasksService {
  private readonly logger = new Logger(TasksService.name);

  constructor(
    private readonly tasks: TasksRepository,
    private readonly queue: TaskQueueService,
    private readonly presenter: TaskPresenterService,
    private readonly metrics: TaskMetricsService,
    private readonly family: TaskFamilyService,
    private readonly admission: TaskAdmissionService,
    private readonly idempotency: IdempotencyService,
  ) {}

  /** `dto` has been validated whole (ParseTaskPipe): request fields, payload and callback URL. */
  async create(dto: CreateTaskDto, idempotency?: IdempotencyRequest): Promise<Created<TaskResponseDto>> {
    const { tasks, replayed } = await this.store([dto], 'single', dto, idempotency);
    return { body: await this.presenter.present(tasks[0]), replayed };
  }

  /** All or nothing: every item has been validated (ParseTaskBatchPipe) before any is stored, and they are stored in one statement. */
  async createBatch(dtos: CreateTaskDto[], idempotency?: IdempotencyRequest): Promise<Created<BatchCreateResponseDto>> {
    const { tasks, replayed } = await this.store(dtos, 'batch', dtos, idempotency);
    return { body: { tasks: await this.presenter.presentMany(tasks), count: tasks.length }, replayed };
  }

  async get(id: string): Promise<TaskResponseDto> {
    return this.presenter.present(await this.load(id));
  }

  /** `kbScope`: the knowledge bases the caller may see (null: all); a list never leaves them. */
  async list(query: ListTasksQueryDto, kbScope: readonly string[] | null = null): Promise<TaskListResponseDto> {
    const { tasks, total } = await this.tasks.findPage(
      {
        kbId: query.kb_id,
        kbIds: kbScope ?? undefined,
        status: query.status,
        taskType: query.task_type,
        priority: query.priority,
        createdAfter: toDate(query.created_after),
        createdBefore: toDate(query.created_before),
        completedAfter: toDate(query.completed_after),
        completedBefore: toDate(query.completed_before),
        parentId: query.parent_id,
        documentId: query.document_id,
        errorContains: query.error_contains,
      },
      { field: query.sort_by, order: query.sort_order },
      { page: query.page, pageSize: query.page_size },
    );
    return {
      tasks: await this.presenter.presentMany(tasks),
      pagination: { page: query.page, page_size: query.page_size, total, total_pages: Math.ceil(total / query.page_size) },
    };
  }

  /**
   * Queued: its job is removed. Running: every worker is told to abort it. Either way the
   * task is `cancelled` in PostgreSQL first, so a worker that picks it up anyway skips it
   * and a handler that finishes anyway has its result discarded. Its children are
   * cancelled with it, and its parent (if any) is told.
   */
  async cancel(id: string): Promise<CancelTaskResponseDto> {
    for (let attempt = 0; attempt < RACE_RETRIES; attempt++) {
      const task = await this.load(id);
      if (TERMINAL_STATUSES.includes(task.status)) {
        throw new DomainError(ErrorCode.TaskNotCancelable, `Task is ${task.status} and can no longer be canceled`, {
          task_id: id,
          status: task.status,
        });
      }
      const cancelled = await this.tasks.markCancelled(id, task.status);
      if (!cancelled) continue;
      this.metrics.cancelled([cancelled]);
      await this.stopJob(cancelled);
      await this.family.cancelChildren(id);
      if (cancelled.parentId) await this.family.childSettled(cancelled.parentId);
      return { message: 'Task canceled successfully', task_id: id };
    }
    throw new DomainError(ErrorCode.TaskNotCancelable, 'Task changed state repeatedly while being canceled; try again', { task_id: id });
  }

  /** Failed or cancelled tasks go back to the queue with a fresh set of attempts; the retry is counted. */
  async retry(id: string): Promise<TaskResponseDto> {
    for (let attempt = 0; attempt < RACE_RETRIES; attempt++) {
      const task = await this.load(id);
      if (!RETRYABLE.includes(task.status)) {
        throw new DomainError(ErrorCode.TaskNotRetryable, `Only failed or cancelled tasks can be retried; task is ${task.status}`, {
          task_id: id,
          status: task.status,
        });
      }
      const requeued = await this.tasks.requeueForRetry(id, task.status);
      if (!requeued) continue;
      this.metrics.retried([requeued]);
      // The finished job still holds this job id; BullMQ would ignore a new job under it.
      await this.queue.removeFinishedJob(requeued.taskType, id).catch((error: unknown) => this.deferred(id, error));
      await this.dispatch([requeued]);
      return this.presenter.present(requeued);
    }
    throw new DomainError(ErrorCode.TaskNotRetryable, 'Task changed state repeatedly while being retried; try again', { task_id: id });
  }

  /** A report below the task's current progress is a late one: ignored, and the task is returned as it is. */
  async updateProgress(id: string, dto: UpdateProgressDto): Promise<TaskResponseDto> {
    const updated = await this.tasks.updateProgress(id, dto.progress, dto.message ?? null);
    if (updated) return this.presenter.present(updated);
    const task = await this.load(id);
    if (task.status === TaskStatus.processing && task.progress > dto.progress) return this.presenter.present(task);
    throw new DomainError(ErrorCode.TaskNotProcessing, `Progress can only be reported for a processing task; task is ${task.status}`, {
      task_id: id,
      status: task.status,
    });
  }

  /**
   * Admission, then one INSERT (inside the idempotency key's transaction when a key is
   * given), then dispatch. A replay neither admits nor dispatches anything new.
   */
  private async store(dtos: CreateTaskDto[], kind: IdempotentKind, body: unknown, idempotency?: IdempotencyRequest): Promise<IdempotentOutcome> {
    const insert = async (tx?: Prisma.TransactionClient) => {
      await this.admission.admit(dtos.length);
      return this.tasks.createMany(dtos.map(toNewTask), tx);
    };
    const outcome = idempotency
      ? await this.idempotency.run(idempotency, kind, dtos.map((dto) => dto.kb_id), body, insert)
      : { tasks: await insert(), replayed: false };
    if (!outcome.replayed) {
      this.metrics.created(outcome.tasks);
      await this.dispatch(outcome.tasks);
    }
    return outcome;
  }

  private async load(id: string): Promise<TaskRecord> {
    const task = await this.tasks.findById(id);
    if (!task) throw new TaskNotFoundError(id);
    return task;
  }

  private async dispatch(tasks: TaskRecord[]): Promise<void> {
    try {
      if (tasks.length === 1) await this.queue.dispatch(tasks[0]);
      else await this.queue.dispatchMany(tasks);
    } catch (error) {
      for (const task of tasks) this.deferred(task.id, error);
    }
  }

  private async stopJob(task: TaskRecord): Promise<void> {
    try {
      await this.queue.stopTask(task.taskType, task.id);
    } catch (error) {
      // Redis is unreachable: the worker will find the task cancelled in PostgreSQL.
      this.logger.warn(`Task ${task.id} cancelled in PostgreSQL only: ${(error as Error).message}`);
    }
  }

  private deferred(taskId: string, error: unknown): void {
    this.logger.warn(`Task ${taskId} stored but not dispatched (${errorMessage(error)}); the reconciler will dispatch it`);
  }
}

function toNewTask(dto: CreateTaskDto): NewTask {
  return {
    taskType: dto.task_type,
    kbId: dto.kb_id,
    priority: dto.priority ?? TaskPriority.normal,
    payload: dto.payload,
    maxRetries: dto.max_retries ?? DEFAULT_MAX_RETRIES,
    timeoutSeconds: dto.timeout ?? DEFAULT_TIMEOUT_SECONDS,
    scheduleFor: dto.schedule_for ? new Date(dto.schedule_for) : null,
    callbackUrl: dto.callback_url ?? null,
    callbackSecret: dto.callback_secret ?? null,
  };
}

function toDate(value: string | undefined): Date | undefined {
  return value ? new Date(value) : undefined;
}
