import { Injectable } from '@nestjs/common';
import { Prisma, Task } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import type { UnitOfWork } from '../prisma/unit-of-work';
import type { BulkCursor, DueTask, StaleTask, TaskFilter, TaskRecord, TaskSortField } from '../task-types/task-record';
import { TASK_RETURNING, toTaskRecord, toTaskRecordOrNull } from '../task-types/task-rows';
import { TaskStatus, TaskType } from '../task-types/task-types';
import { TRANSITIONS } from './task-transitions';

const SORT_COLUMNS: Record<TaskSortField, keyof Prisma.TaskOrderByWithRelationInput> = {
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
const NULLABLE_SORT_COLUMNS = new Set<TaskSortField>(['started_at', 'completed_at']);

/** Statuses a task can still leave on its own: what a cancel reaches, and what "open" means for children. */
const OPEN_STATUSES: TaskStatus[] = [...TRANSITIONS.cancel.from];

/** Every read of the tasks table; rows leave as TaskRecords. */
@Injectable()
export class TaskQueryRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The most frequent read (clients polling their tasks): SQL on the pool, no query building. Inside `uow`, that transaction's view. */
  async findById(id: string, uow?: UnitOfWork): Promise<TaskRecord | null> {
    if (uow) return toTaskRecordOrNull(await uow.task.findUnique({ where: { id } }));
    const { rows } = await this.prisma.pool.query<Task>(`SELECT ${TASK_RETURNING} FROM tasks AS t WHERE t.id = $1`, [
      id,
    ]);
    return toTaskRecordOrNull(rows[0]);
  }

  /** Tasks by id, in the order of `ids`. */
  async findByIds(ids: string[]): Promise<TaskRecord[]> {
    const rows = await this.prisma.task.findMany({ where: { id: { in: ids } } });
    const byId = new Map(rows.map((row) => [row.id, toTaskRecord(row)]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /** A parent's children, oldest first, as its transaction sees them. */
  async findChildren(parentId: string, uow: UnitOfWork): Promise<TaskRecord[]> {
    const rows = await uow.task.findMany({ where: { parentId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    return rows.map(toTaskRecord);
  }

  /** A parent's children that have not finished. */
  async findOpenChildren(parentId: string): Promise<TaskRecord[]> {
    const rows = await this.prisma.task.findMany({ where: { parentId, status: { in: OPEN_STATUSES } } });
    return rows.map(toTaskRecord);
  }

  /** Which of `ids` still have unfinished children. */
  async withOpenChildren(ids: string[]): Promise<string[]> {
    const rows = await this.prisma.task.findMany({
      where: { parentId: { in: ids }, status: { in: OPEN_STATUSES } },
      select: { parentId: true },
      distinct: ['parentId'],
    });
    return rows.flatMap((row) => (row.parentId ? [row.parentId] : []));
  }

  async findPage(
    filter: TaskFilter,
    sort: { field: TaskSortField; order: 'asc' | 'desc' },
    page: { page: number; pageSize: number },
  ): Promise<{ tasks: TaskRecord[]; total: number }> {
    const column = SORT_COLUMNS[sort.field];
    const [rows, total] = await Promise.all([
      this.prisma.task.findMany({
        where: toWhere(filter),
        orderBy: [
          { [column]: NULLABLE_SORT_COLUMNS.has(sort.field) ? { sort: sort.order, nulls: 'last' } : sort.order },
          { id: sort.order },
        ],
        skip: (page.page - 1) * page.pageSize,
        take: page.pageSize,
      }),
      this.count(filter),
    ]);
    return { tasks: rows.map(toTaskRecord), total };
  }

  /** From the maintained counters (see count): a sum over a few rows per kb, not over the backlog. */
  countQueued(): Promise<number> {
    return this.count({ status: TaskStatus.queued });
  }

  /**
   * Exact either way. A filter on the counted key alone (kb, status, type, priority) sums
   * the trigger-kept task_counters rows — a few per kb, whatever its size; any other
   * filter counts the matching tasks.
   */
  async count(filter: TaskFilter): Promise<number> {
    if (!countedByKey(filter)) return this.prisma.task.count({ where: toWhere(filter) });
    const { _sum } = await this.prisma.taskCounter.aggregate({ where: toCounterWhere(filter), _sum: { count: true } });
    return Number(_sum.count ?? 0);
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

  /**
   * 1-based place of each task among due waiting tasks of its type, by urgency then age —
   * for a whole page or batch in one round trip (and one connection).
   */
  async queuePositions(
    tasks: Pick<TaskRecord, 'id' | 'taskType' | 'priority' | 'createdAt'>[],
    now: Date,
  ): Promise<Map<string, number>> {
    if (tasks.length === 0) return new Map();
    const rows = await this.prisma.$queryRaw<{ id: string; ahead: number }[]>`
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

  /**
   * Mean run time in seconds of the last `sample` completed tasks of a type (all types when null).
   * `completed_at IS NOT NULL` is not redundant: a descending index scan meets NULLs first, and
   * every queued or running version of every task has one — without it, a burst of 100k tasks
   * made this read walk 200k+ index entries (400–500 ms) before reaching a completed task.
   */
  async recentAverageRunSeconds(taskType: TaskType | null, sample: number): Promise<number | null> {
    const typeFilter = taskType ? Prisma.sql`AND task_type = ${taskType}::task_type` : Prisma.empty;
    const rows = await this.prisma.$queryRaw<{ avg: number | null }[]>`
      SELECT avg(extract(epoch FROM completed_at - started_at))::float8 AS avg FROM (
        SELECT completed_at, started_at FROM tasks
        WHERE status = 'completed' AND completed_at IS NOT NULL AND started_at IS NOT NULL ${typeFilter}
        ORDER BY completed_at DESC LIMIT ${sample}
      ) recent`;
    return rows[0]?.avg ?? null;
  }

  /**
   * Processing tasks not touched since `olderThan`: candidates for a lost worker or a lost
   * parent update. SQL rather than Prisma's `_count` of children, which Prisma writes as a
   * GROUP BY over the whole table — a full scan per reconcile pass; EXISTS reads the parent_id index instead.
   * Tasks of `exceptTypes` are left out (external workers' tasks: their leases expire instead).
   */
  async findStaleProcessing(
    olderThan: Date,
    limit: number,
    exceptTypes: readonly TaskType[] = [],
  ): Promise<StaleTask[]> {
    const { rows } = await this.prisma.pool.query<StaleTask>(
      `SELECT t.id, t.kb_id AS "kbId", t.task_type AS "taskType", t.priority, t.schedule_for AS "scheduleFor", t.max_retries AS "maxRetries", t.attempt,
              EXISTS (SELECT 1 FROM tasks c WHERE c.parent_id = t.id) AS "hasChildren"
       FROM tasks AS t
       WHERE t.status = 'processing' AND t.updated_at < $1 AND NOT (t.task_type = ANY($3::task_type[]))
       ORDER BY t.updated_at
       LIMIT $2`,
      [olderThan, limit, exceptTypes],
    );
    return rows;
  }

  /**
   * Queued tasks last touched before `olderThan`, newest first: what the reconciler checks
   * against BullMQ. SQL with the status as a literal: the planner then knows `queued` rows
   * are few and reads them through the status index, where Prisma's bound parameter let a
   * generic plan walk the updated_at index over the whole table. Tasks of `exceptTypes` are
   * left out (external workers' tasks have no job to check).
   */
  async findDueQueued(olderThan: Date, limit: number, exceptTypes: readonly TaskType[] = []): Promise<DueTask[]> {
    const { rows } = await this.prisma.pool.query<DueTask>(
      `SELECT t.id, t.kb_id AS "kbId", t.task_type AS "taskType", t.priority, t.schedule_for AS "scheduleFor", t.max_retries AS "maxRetries", t.updated_at AS "updatedAt"
       FROM tasks AS t
       WHERE t.status = 'queued' AND t.updated_at < $1 AND NOT (t.task_type = ANY($3::task_type[]))
       ORDER BY t.updated_at DESC
       LIMIT $2`,
      [olderThan, limit, exceptTypes],
    );
    return rows;
  }
}

function toWhere(filter: TaskFilter): Prisma.TaskWhereInput {
  return {
    ...kbWhere(filter),
    ...(filter.status ? { status: filter.status } : {}),
    ...(filter.taskType ? { taskType: filter.taskType } : {}),
    ...(filter.priority ? { priority: filter.priority } : {}),
    ...(filter.createdAfter || filter.createdBefore
      ? { createdAt: range(filter.createdAfter, filter.createdBefore) }
      : {}),
    ...(filter.completedAfter || filter.completedBefore
      ? { completedAt: range(filter.completedAfter, filter.completedBefore) }
      : {}),
    ...(filter.parentId ? { parentId: filter.parentId } : {}),
    ...(filter.documentId ? { documentId: filter.documentId } : {}),
    // ILIKE '%…%', served by the trigram index on error_message (see the task_events migration).
    ...(filter.errorContains ? { errorMessage: { contains: filter.errorContains, mode: 'insensitive' as const } } : {}),
  };
}

/** The filters task_counters is keyed by; any other one needs a count over the tasks. */
const COUNTER_KEY_FILTERS = new Set<keyof TaskFilter>(['kbId', 'kbIds', 'status', 'taskType', 'priority']);

function countedByKey(filter: TaskFilter): boolean {
  return Object.entries(filter).every(([name, value]) => !value || COUNTER_KEY_FILTERS.has(name as keyof TaskFilter));
}

function toCounterWhere(filter: TaskFilter): Prisma.TaskCounterWhereInput {
  return {
    ...kbWhere(filter),
    ...(filter.status ? { status: filter.status } : {}),
    ...(filter.taskType ? { taskType: filter.taskType } : {}),
    ...(filter.priority ? { priority: filter.priority } : {}),
  };
}

/** kbId and kbIds together: the one kb, and only if it is among the allowed ones. Fits tasks and task_counters alike. */
function kbWhere(filter: TaskFilter): { kbId?: string | { equals?: string; in: string[] } } {
  if (!filter.kbIds) return filter.kbId ? { kbId: filter.kbId } : {};
  return { kbId: filter.kbId ? { equals: filter.kbId, in: [...filter.kbIds] } : { in: [...filter.kbIds] } };
}

/** [after, before): inclusive start, exclusive end, so adjacent ranges never count a task twice. */
function range(after?: Date, before?: Date): Prisma.DateTimeFilter {
  return { ...(after ? { gte: after } : {}), ...(before ? { lt: before } : {}) };
}
