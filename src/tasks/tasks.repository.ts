import { Injectable } from '@nestjs/common';
import { Prisma, Task } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { TaskPriority, TaskStatus, TaskType } from '../queues/task-types';
import type { SortField, SortOrder } from './dto/list-tasks-query.dto';

export type TaskRecord = Task;

export interface NewTask {
  taskType: TaskType;
  kbId: string;
  priority: TaskPriority;
  payload: Record<string, unknown>;
  maxRetries: number;
  timeoutSeconds: number;
  scheduleFor: Date | null;
  parentId?: string | null;
  callbackUrl?: string | null;
  callbackSecret?: string | null;
}

export interface TaskFilter {
  kbId?: string;
  /** Only these knowledge bases (a caller limited to some); combined with kbId, both must hold. */
  kbIds?: readonly string[];
  status?: TaskStatus;
  taskType?: TaskType;
  priority?: TaskPriority;
  createdAfter?: Date;
  createdBefore?: Date;
  completedAfter?: Date;
  completedBefore?: Date;
  parentId?: string;
  documentId?: string;
  errorContains?: string;
}

/** Where a batch of a bulk action ended: the next batch starts after it (oldest first). */
export interface BulkCursor {
  createdAt: Date;
  id: string;
}

const SORT_COLUMNS: Record<SortField, keyof Prisma.TaskOrderByWithRelationInput> = {
  created_at: 'createdAt',
  updated_at: 'updatedAt',
  started_at: 'startedAt',
  completed_at: 'completedAt',
  priority: 'priority',
  status: 'status',
  task_type: 'taskType',
  progress: 'progress',
};

/** Never-started or unfinished tasks sort after the others whichever the direction. */
const NULLABLE_SORT_COLUMNS = new Set<SortField>(['started_at', 'completed_at']);

/**
 * All reads and writes of the tasks table. State changes are conditional updates on the
 * current status (and, for a worker, on its attempt number), so a stale or duplicate
 * writer changes nothing instead of overwriting a newer state.
 */
@Injectable()
export class TasksRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** All-or-nothing: one statement, so either every task is stored or none is. `tx` joins a caller's transaction. */
  createMany(tasks: NewTask[], tx: Prisma.TransactionClient = this.prisma): Promise<TaskRecord[]> {
    return tx.task.createManyAndReturn({ data: tasks.map(toCreateInput) });
  }

  /** Tasks by id, in the order of `ids`. */
  async findByIds(ids: string[]): Promise<TaskRecord[]> {
    const rows = await this.prisma.task.findMany({ where: { id: { in: ids } } });
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  countQueued(): Promise<number> {
    return this.prisma.task.count({ where: { status: TaskStatus.queued } });
  }

  findById(id: string): Promise<TaskRecord | null> {
    return this.prisma.task.findUnique({ where: { id } });
  }

  async findPage(
    filter: TaskFilter,
    sort: { field: SortField; order: SortOrder },
    page: { page: number; pageSize: number },
  ): Promise<{ tasks: TaskRecord[]; total: number }> {
    const where = toWhere(filter);
    const column = SORT_COLUMNS[sort.field];
    const [tasks, total] = await Promise.all([
      this.prisma.task.findMany({
        where,
        orderBy: [{ [column]: NULLABLE_SORT_COLUMNS.has(sort.field) ? { sort: sort.order, nulls: 'last' } : sort.order }, { id: sort.order }],
        skip: (page.page - 1) * page.pageSize,
        take: page.pageSize,
      }),
      this.prisma.task.count({ where }),
    ]);
    return { tasks, total };
  }

  /** Moves a task from `from` to cancelled; null when it was no longer in `from`. */
  async markCancelled(id: string, from: TaskStatus): Promise<TaskRecord | null> {
    const now = new Date();
    const [row] = await this.prisma.task.updateManyAndReturn({
      where: { id, status: from },
      data: { status: TaskStatus.cancelled, completedAt: now, updatedAt: now, progressMessage: 'Canceled by request' },
    });
    return row ?? null;
  }

  /** Puts a failed or cancelled task back in the queue, counting the retry. */
  async requeueForRetry(id: string, from: TaskStatus): Promise<TaskRecord | null> {
    const [row] = await this.prisma.task.updateManyAndReturn({ where: { id, status: from }, data: retryReset() });
    return row ?? null;
  }

  count(filter: TaskFilter): Promise<number> {
    return this.prisma.task.count({ where: toWhere(filter) });
  }

  /**
   * The next `limit` ids of tasks in `status` matching `filter`, oldest first, after `after`:
   * keyset pagination on (created_at, id), which the (…, status, created_at) indexes serve
   * in order, so each batch of a bulk action reads only its own rows.
   */
  findBatchIds(filter: TaskFilter, status: TaskStatus, after: BulkCursor | null, limit: number): Promise<BulkCursor[]> {
    const cursor: Prisma.TaskWhereInput = after
      ? { createdAt: { gte: after.createdAt }, OR: [{ createdAt: { gt: after.createdAt } }, { id: { gt: after.id } }] }
      : {};
    return this.prisma.task.findMany({
      where: { AND: [toWhere({ ...filter, status }), cursor] },
      select: { id: true, createdAt: true },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take: limit,
    });
  }

  /** Bulk form of markCancelled: one statement; returns the tasks it changed (those still in `from`). */
  cancelMany(ids: string[], from: TaskStatus): Promise<TaskRecord[]> {
    const now = new Date();
    return this.prisma.task.updateManyAndReturn({
      where: { id: { in: ids }, status: from },
      data: { status: TaskStatus.cancelled, completedAt: now, updatedAt: now, progressMessage: 'Canceled by request' },
    });
  }

  /** Bulk form of requeueForRetry: one statement; returns the tasks it changed (those still in `from`). */
  requeueManyForRetry(ids: string[], from: TaskStatus): Promise<TaskRecord[]> {
    return this.prisma.task.updateManyAndReturn({ where: { id: { in: ids }, status: from }, data: retryReset() });
  }

  /** Which of `ids` still have unfinished children. */
  async withOpenChildren(ids: string[]): Promise<string[]> {
    const rows = await this.prisma.task.findMany({
      where: { parentId: { in: ids }, status: { in: [TaskStatus.queued, TaskStatus.processing] } },
      select: { parentId: true },
      distinct: ['parentId'],
    });
    return rows.flatMap((row) => (row.parentId ? [row.parentId] : []));
  }

  /**
   * A worker claims a task for a new attempt. `processing` is accepted too: that is a task
   * whose previous worker died mid-run and whose job BullMQ handed out again.
   */
  async markProcessing(id: string, workerId: string): Promise<TaskRecord | null> {
    const now = new Date();
    const [row] = await this.prisma.task.updateManyAndReturn({
      where: { id, status: { in: [TaskStatus.queued, TaskStatus.processing] } },
      data: {
        status: TaskStatus.processing,
        attempt: { increment: 1 },
        workerId,
        startedAt: now,
        updatedAt: now,
        progress: 0,
        progressMessage: null,
      },
    });
    return row ?? null;
  }

  async markCompleted(id: string, attempt: number, result: unknown): Promise<boolean> {
    const now = new Date();
    const { count } = await this.prisma.task.updateMany({
      where: { id, attempt, status: TaskStatus.processing },
      data: {
        status: TaskStatus.completed,
        result: result === undefined || result === null ? Prisma.DbNull : (result as Prisma.InputJsonValue),
        progress: 100,
        errorMessage: null,
        completedAt: now,
        updatedAt: now,
      },
    });
    return count === 1;
  }

  /** The parent's own step is done; it stays processing, holding its partial result, while its children run. */
  async markAwaitingChildren(id: string, attempt: number, result: unknown, progress: number): Promise<TaskRecord | null> {
    const [row] = await this.prisma.task.updateManyAndReturn({
      where: { id, attempt, status: TaskStatus.processing },
      data: {
        result: result === undefined || result === null ? Prisma.DbNull : (result as Prisma.InputJsonValue),
        progress,
        progressMessage: 'Waiting for child tasks',
        updatedAt: new Date(),
      },
    });
    return row ?? null;
  }

  /** A failed attempt: final ones end the task, others send it back to the queue for BullMQ's retry. */
  async markAttemptFailed(id: string, attempt: number, errorMessage: string, final: boolean): Promise<boolean> {
    const now = new Date();
    const { count } = await this.prisma.task.updateMany({
      where: { id, attempt, status: TaskStatus.processing },
      data: final
        ? { status: TaskStatus.failed, errorMessage, completedAt: now, updatedAt: now }
        : { status: TaskStatus.queued, errorMessage, retryCount: { increment: 1 }, updatedAt: now },
    });
    return count === 1;
  }

  /** For failures BullMQ decides outside a handler (a job stalled too often): ends whatever attempt is running. */
  async markFailedIfProcessing(id: string, errorMessage: string): Promise<boolean> {
    const now = new Date();
    const { count } = await this.prisma.task.updateMany({
      where: { id, status: TaskStatus.processing },
      data: { status: TaskStatus.failed, errorMessage, completedAt: now, updatedAt: now },
    });
    return count === 1;
  }

  /** Progress of a running task; `attempt` pins it to one execution when a worker reports. */
  async updateProgress(id: string, progress: number, message: string | null, attempt?: number): Promise<TaskRecord | null> {
    const [row] = await this.prisma.task.updateManyAndReturn({
      where: { id, status: TaskStatus.processing, ...(attempt === undefined ? {} : { attempt }) },
      data: { progress, progressMessage: message, updatedAt: new Date() },
    });
    return row ?? null;
  }

  /**
   * 1-based place of each task among due waiting tasks of its type, by urgency then age —
   * for a whole page or batch in one round trip (and one connection).
   */
  async queuePositions(tasks: Array<Pick<TaskRecord, 'id' | 'taskType' | 'priority' | 'createdAt'>>, now: Date): Promise<Map<string, number>> {
    if (tasks.length === 0) return new Map();
    const rows = await this.prisma.$queryRaw<Array<{ id: string; ahead: number }>>`
      SELECT t.id, (
        SELECT count(*)::int FROM tasks q
        WHERE q.task_type = t.task_type AND q.status = 'queued'
          AND (q.schedule_for IS NULL OR q.schedule_for <= ${now})
          AND (q.priority > t.priority OR (q.priority = t.priority AND q.created_at < t.created_at))
      ) AS ahead
      FROM unnest(${tasks.map((t) => t.id)}::uuid[], ${tasks.map((t) => t.taskType)}::task_type[],
                  ${tasks.map((t) => t.priority)}::task_priority[], ${tasks.map((t) => t.createdAt)}::timestamptz[])
           AS t(id, task_type, priority, created_at)`;
    return new Map(rows.map((r) => [r.id, r.ahead + 1]));
  }

  /** Mean run time in seconds of the last `sample` completed tasks of a type (all types when null). */
  async recentAverageRunSeconds(taskType: TaskType | null, sample: number): Promise<number | null> {
    const typeFilter = taskType ? Prisma.sql`AND task_type = ${taskType}::task_type` : Prisma.empty;
    const rows = await this.prisma.$queryRaw<Array<{ avg: number | null }>>`
      SELECT avg(extract(epoch FROM completed_at - started_at))::float8 AS avg FROM (
        SELECT completed_at, started_at FROM tasks
        WHERE status = 'completed' AND started_at IS NOT NULL ${typeFilter}
        ORDER BY completed_at DESC LIMIT ${sample}
      ) recent`;
    return rows[0]?.avg ?? null;
  }

  /** Processing tasks not touched since `olderThan`: candidates for a lost worker or a lost parent update. */
  findStaleProcessing(olderThan: Date, limit: number) {
    return this.prisma.task.findMany({
      where: { status: TaskStatus.processing, updatedAt: { lt: olderThan } },
      select: { id: true, taskType: true, priority: true, scheduleFor: true, maxRetries: true, attempt: true, _count: { select: { children: true } } },
      orderBy: { updatedAt: 'asc' },
      take: limit,
    });
  }

  /** A processing task whose worker is gone (or shutting down) goes back to the queue; not a failed attempt. */
  async requeueOrphaned(id: string, attempt: number, reason = 'its worker and job were lost'): Promise<boolean> {
    const { count } = await this.prisma.task.updateMany({
      where: { id, attempt, status: TaskStatus.processing },
      data: { status: TaskStatus.queued, workerId: null, progressMessage: `Requeued: ${reason}`, updatedAt: new Date() },
    });
    return count === 1;
  }

  /** Queued tasks last touched before `olderThan`, newest first: what the reconciler checks against BullMQ. */
  findDueQueued(
    olderThan: Date,
    limit: number,
  ): Promise<Pick<TaskRecord, 'id' | 'taskType' | 'priority' | 'scheduleFor' | 'maxRetries' | 'updatedAt'>[]> {
    return this.prisma.task.findMany({
      where: { status: TaskStatus.queued, updatedAt: { lt: olderThan } },
      select: { id: true, taskType: true, priority: true, scheduleFor: true, maxRetries: true, updatedAt: true },
      orderBy: { updatedAt: 'desc' },
      take: limit,
    });
  }
}

function toCreateInput(task: NewTask): Prisma.TaskCreateManyInput {
  return {
    taskType: task.taskType,
    kbId: task.kbId,
    priority: task.priority,
    payload: task.payload as Prisma.InputJsonValue,
    maxRetries: task.maxRetries,
    timeoutSeconds: task.timeoutSeconds,
    scheduleFor: task.scheduleFor,
    parentId: task.parentId ?? null,
    callbackUrl: task.callbackUrl ?? null,
    callbackSecret: task.callbackSecret ?? null,
  };
}

/** What a retried task starts from: queued again, its last run's traces cleared, the retry counted. */
function retryReset(): Prisma.TaskUpdateManyMutationInput {
  return {
    status: TaskStatus.queued,
    retryCount: { increment: 1 },
    progress: 0,
    progressMessage: null,
    result: Prisma.DbNull,
    workerId: null,
    startedAt: null,
    completedAt: null,
    updatedAt: new Date(),
  };
}

function toWhere(filter: TaskFilter): Prisma.TaskWhereInput {
  return {
    ...kbWhere(filter),
    ...(filter.status ? { status: filter.status } : {}),
    ...(filter.taskType ? { taskType: filter.taskType } : {}),
    ...(filter.priority ? { priority: filter.priority } : {}),
    ...(filter.createdAfter || filter.createdBefore ? { createdAt: range(filter.createdAfter, filter.createdBefore) } : {}),
    ...(filter.completedAfter || filter.completedBefore ? { completedAt: range(filter.completedAfter, filter.completedBefore) } : {}),
    ...(filter.parentId ? { parentId: filter.parentId } : {}),
    ...(filter.documentId ? { documentId: filter.documentId } : {}),
    // ILIKE '%…%', served by the trigram index on error_message (see the task_events migration).
    ...(filter.errorContains ? { errorMessage: { contains: filter.errorContains, mode: 'insensitive' as const } } : {}),
  };
}

/** kbId and kbIds together: the one kb, and only if it is among the allowed ones. */
function kbWhere(filter: TaskFilter): Prisma.TaskWhereInput {
  if (!filter.kbIds) return filter.kbId ? { kbId: filter.kbId } : {};
  return { kbId: filter.kbId ? { equals: filter.kbId, in: [...filter.kbIds] } : { in: [...filter.kbIds] } };
}

/** [after, before): inclusive start, exclusive end, so adjacent ranges never count a task twice. */
function range(after?: Date, before?: Date): Prisma.DateTimeFilter {
  return { ...(after ? { gte: after } : {}), ...(before ? { lt: before } : {}) };
}
