import { Injectable } from '@nestjs/common';
import { TaskNotFoundError } from '../common/errors/domain.error';
import type { UnitOfWork } from '../prisma/unit-of-work';
import { TaskQueryRepository } from '../task-engine/task-query.repository';
import { TaskStateService } from '../task-engine/task-state.service';
import { CreateTaskDto } from '../task-types/create-task.dto';
import type { NewTask, TaskRecord } from '../task-types/task-record';
import { taskDefaults } from '../task-types/task-type-registry';
import { TaskPriority } from '../task-types/task-types';
import { ListTasksQueryDto } from './dto/list-tasks-query.dto';
import {
  BatchCreateResponseDto,
  CancelTaskResponseDto,
  TaskListResponseDto,
  TaskResponseDto,
} from './dto/task-response.dto';
import { UpdateProgressDto } from './dto/update-progress.dto';
import { IdempotencyRequest, IdempotencyService, IdempotentKind, IdempotentOutcome } from './idempotency.service';
import { TaskAdmissionService } from './task-admission.service';
import { TaskPresenterService } from './task-presenter.service';

/** A create's response, and whether it replays an earlier request with the same Idempotency-Key. */
export interface Created<T> {
  body: T;
  replayed: boolean;
}

/**
 * The task use cases behind the REST API. Every state change is the task engine's
 * (TaskStateService): PostgreSQL is written first and is the truth; Redis is told
 * afterwards, and a dispatch that fails is left to the reconciler, so an accepted task is
 * never lost to a Redis outage.
 */
@Injectable()
export class TasksService {
  constructor(
    private readonly engine: TaskStateService,
    private readonly tasks: TaskQueryRepository,
    private readonly presenter: TaskPresenterService,
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

  /**
   * A task under an id fixed in advance (the API docs' example task), created the way
   * `create` creates one unless that id is already stored. True when this call stored it.
   */
  async createIfAbsent(id: string, dto: CreateTaskDto): Promise<boolean> {
    await this.admission.admit(1);
    const task = await this.engine.insertIfAbsent(id, toNewTask(dto));
    if (!task) return false;
    await this.engine.released([task]);
    return true;
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
      pagination: {
        page: query.page,
        page_size: query.page_size,
        total,
        total_pages: Math.ceil(total / query.page_size),
      },
    };
  }

  /** Cancels the task (and its unfinished children); TASK_NOT_CANCELABLE once it has ended. */
  async cancel(id: string): Promise<CancelTaskResponseDto> {
    await this.engine.cancel(id);
    return { message: 'Task canceled successfully', task_id: id };
  }

  /** Failed or cancelled tasks go back to the queue; TASK_NOT_RETRYABLE otherwise. */
  async retry(id: string): Promise<TaskResponseDto> {
    return this.presenter.present(await this.engine.retry(id));
  }

  /** With a lease_token (an external worker), only while that lease holds the task; 409 with why otherwise. */
  async updateProgress(id: string, dto: UpdateProgressDto): Promise<TaskResponseDto> {
    const message = dto.message ?? null;
    const task = dto.lease_token
      ? await this.engine.reportLeasedProgress(id, dto.lease_token, dto.progress, message)
      : await this.engine.reportProgress(id, dto.progress, message);
    return this.presenter.present(task);
  }

  /**
   * Admission, then one INSERT (inside the idempotency key's transaction when a key is
   * given), then dispatch. A replay neither admits nor dispatches anything new.
   */
  private async store(
    dtos: CreateTaskDto[],
    kind: IdempotentKind,
    body: unknown,
    idempotency?: IdempotencyRequest,
  ): Promise<IdempotentOutcome> {
    const insert = async (uow?: UnitOfWork) => {
      await this.admission.admit(dtos.length);
      return this.engine.insert(dtos.map(toNewTask), uow);
    };
    const outcome = idempotency
      ? await this.idempotency.run(
          idempotency,
          kind,
          dtos.map((dto) => dto.kb_id),
          body,
          insert,
        )
      : { tasks: await insert(), replayed: false };
    // Only after the commit (a rolled-back INSERT has no job), and only for new tasks.
    if (!outcome.replayed) await this.engine.released(outcome.tasks);
    return outcome;
  }

  private async load(id: string): Promise<TaskRecord> {
    const task = await this.tasks.findById(id);
    if (!task) throw new TaskNotFoundError(id);
    return task;
  }
}

function toNewTask(dto: CreateTaskDto): NewTask {
  const defaults = taskDefaults(dto.task_type);
  return {
    taskType: dto.task_type,
    kbId: dto.kb_id,
    priority: dto.priority ?? TaskPriority.normal,
    payload: dto.payload,
    maxRetries: dto.max_retries ?? defaults.maxRetries,
    timeoutSeconds: dto.timeout ?? defaults.timeoutSeconds,
    scheduleFor: dto.schedule_for ? new Date(dto.schedule_for) : null,
    callbackUrl: dto.callback_url ?? null,
    callbackSecret: dto.callback_secret ?? null,
  };
}

function toDate(value: string | undefined): Date | undefined {
  return value ? new Date(value) : undefined;
}
