import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Coalescer } from '../common/utils/coalescer';
import { isDatabaseUnavailable } from '../common/errors/infrastructure-errors';
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

/** The tasks columns under the names of Prisma's Task model, so raw rows are TaskRecords as they come. */
function taskColumns(alias: string): string {
  const columns: Array<[string, keyof TaskRecord]> = [
    ['id', 'id'], ['task_type', 'taskType'], ['kb_id', 'kbId'], ['priority', 'priority'], ['status', 'status'],
    ['payload', 'payload'], ['result', 'result'], ['progress', 'progress'], ['progress_message', 'progressMessage'],
    ['retry_count', 'retryCount'], ['max_retries', 'maxRetries'], ['attempt', 'attempt'], ['timeout', 'timeoutSeconds'],
    ['schedule_for', 'scheduleFor'], ['error_message', 'errorMessage'], ['worker_id', 'workerId'], ['parent_id', 'parentId'],
    ['created_at', 'createdAt'], ['updated_at', 'updatedAt'], ['started_at', 'startedAt'], ['completed_at', 'completedAt'],
    ['callback_url', 'callbackUrl'], ['callback_secret', 'callbackSecret'], ['document_id', 'documentId'],
  ];
  return columns.map(([column, field]) => `${alias}.${column} AS "${field}"`).join(', ');
}

const TASK_RETURNING = taskColumns('t');

/** Any number of tasks in one statement: $1 is a JSON array of toInsertRecord()s. */
const INSERT_TASKS = `
  INSERT INTO tasks AS t (id, task_type, kb_id, priority, payload, max_retries, timeout, schedule_for, parent_id, callback_url, callback_secret)
  SELECT id, task_type, kb_id, priority, payload, max_retries, timeout, schedule_for, parent_id, callback_url, callback_secret
  FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, task_type task_type, kb_id varchar(128), priority task_priority, payload jsonb,
       max_retries int, timeout int, schedule_for timestamptz, parent_id uuid, callback_url text, callback_secret text)
  RETURNING ${TASK_RETURNING}`;

/** A processing task nobody touched for a while, and whether it is a parent waiting on children. */
export type StaleTask = Pick<TaskRecord, 'id' | 'taskType' | 'priority' | 'scheduleFor' | 'maxRetries' | 'attempt'> & { hasChildren: boolean };

/** One request's tasks, stored together with other requests' in one INSERT. */
type InsertRequest = NewTask[];
interface ClaimRequest {
  id: string;
  workerId: string;
}
interface CompletionRequest {
  id: string;
  attempt: number;
  result: unknown;
}

/**
 * Concurrent requests and job transitions are written together: one statement per flush
 * instead of one per task (group commit). A flush takes what arrived while the previous one
 * ran, so under load batches grow and round trips stay few, and an idle service writes at once.
 */
const notAnOutage = (error: unknown) => !isDatabaseUnavailable(error);
const INSERT_BATCH = { maxBatch: 200, maxInFlight: 2, retryAlone: notAnOutage };
const TRANSITION_BATCH = { maxBatch: 500, maxInFlight: 2, retryAlone: notAnOutage };

/**
 * All reads and writes of the tasks table. State changes are conditional updates on the
 * current status (and, for a worker, on its attempt number), so a stale or duplicate
 * writer changes nothing instead of overwriting a newer state.
 *
 * The hot path — creating tasks, a worker claiming and completing them — is SQL on the
 * shared pg pool, coalesced across concurrent callers; the rest goes through Prisma.
 */
@Injectable()
export class TasksRepository {
  private readonly inserts = new Coalescer<InsertRequest, TaskRecord[]>((requests) => this.insertRequests(requests), INSERT_BATCH);
  private readonly claims = new Coalescer<ClaimRequest, TaskRecord | null>((requests) => this.claimAll(requests), TRANSITION_BATCH);
  private readonly completions = new Coalescer<CompletionRequest, boolean>((requests) => this.completeAll(requests), TRANSITION_BATCH);

  constructor(private readonly prisma: PrismaService) {}

  /**
   * All-or-nothing: either every task is stored or none is. Without `tx` the tasks go out in
   * one multi-row INSERT shared with concurrent callers; `tx` joins a caller's transaction.
   */
  async createMany(tasks: NewTask[], tx?: Prisma.TransactionClient): Promise<TaskRecord[]> {
    if (!tx) return this.inserts.submit(tasks);
    const [rows] = await this.insertRequests([tasks], (sql, records) => tx.$queryRawUnsafe<TaskRecord[]>(sql, records));
    return rows;
  }

  /** Tasks by id, in the order of `ids`. */
  async findByIds(ids: string[]): Promise<TaskRecord[]> {
    const rows = await this.prisma.task.findMany({ where: { id: { in: ids } } });
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /** From the maintained counters (see count): a sum over a few rows per kb, not over the backlog. */
  countQueued(): Promise<number> {
    return this.count({ status: TaskStatus.queued });
  }

  /** The most frequent read (clients polling their tasks): SQL on the pool, no query building. */
  async findById(id: string): Promise<TaskRecord | null> {
    const { rows } = await this.prisma.pool.query<TaskRecord>(`SELECT ${TASK_RETURNING} FROM tasks AS t WHERE t.id = $1`, [id]);
    return rows[0] ?? null;
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
      this.count(filter),
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
  markProcessing(id: string, workerId: string): Promise<TaskRecord | null> {
    return this.claims.submit({ id, workerId });
  }

  /** Only the attempt that claimed the task may complete it, and only while it is processing. */
  markCompleted(id: string, attempt: number, result: unknown): Promise<boolean> {
    return this.completions.submit({ id, attempt, result: result ?? null });
  }

  /**
   * Many requests' tasks in one INSERT. Ids are made here so each request gets back exactly its
   * own rows. `run` executes the statement: the shared pool, or a caller's transaction.
   */
  private async insertRequests(
    requests: InsertRequest[],
    run: (sql: string, records: string) => Promise<TaskRecord[]> = async (sql, records) =>
      (await this.prisma.pool.query<TaskRecord>(sql, [records])).rows,
  ): Promise<TaskRecord[][]> {
    const withIds = requests.map((tasks) => tasks.map((task) => ({ id: randomUUID(), task })));
    const rows = await run(INSERT_TASKS, JSON.stringify(withIds.flat().map(toInsertRecord)));
    const byId = new Map(rows.map((row) => [row.id, row]));
    return withIds.map((tasks) => tasks.map(({ id }) => byId.get(id)!));
  }

  /**
   * Claims in one UPDATE. A task claimed twice in one flush (its job handed out again while
   * the first claim waits) is given to the first caller only; the second finds nothing to run.
   *
   * The rows are looked up by id: the status guard is compared as text, which no index serves.
   * Compared as the enum, the planner could read them through an index on status instead —
   * and it did whenever its statistics predated a backlog (they always do during a burst):
   * each flush then read every queued task, ~640 rows per task over a 20,000-task run.
   */
  private async claimAll(requests: ClaimRequest[]): Promise<Array<TaskRecord | null>> {
    const { rows } = await this.prisma.pool.query<TaskRecord>(
      `UPDATE tasks AS t
       SET status = 'processing', attempt = t.attempt + 1, worker_id = c.worker_id, started_at = now(), updated_at = now(),
           progress = 0, progress_message = NULL
       FROM (SELECT DISTINCT ON (id) id, worker_id FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, worker_id varchar(128))) AS c
       WHERE t.id = c.id AND t.status::text IN ('queued', 'processing')
       RETURNING ${TASK_RETURNING}`,
      [JSON.stringify(requests.map(({ id, workerId }) => ({ id, worker_id: workerId })))],
    );
    const claimed = new Map(rows.map((row) => [row.id, row]));
    return requests.map(({ id }) => {
      const row = claimed.get(id) ?? null;
      claimed.delete(id);
      return row;
    });
  }

  /** Looked up by id, the status guard compared as text: see claimAll. */
  private async completeAll(requests: CompletionRequest[]): Promise<boolean[]> {
    const { rows } = await this.prisma.pool.query<{ id: string; attempt: number }>(
      `UPDATE tasks AS t
       SET status = 'completed', result = c.result, progress = 100, error_message = NULL, completed_at = now(), updated_at = now()
       FROM jsonb_to_recordset($1::jsonb) AS c(id uuid, attempt int, result jsonb)
       WHERE t.id = c.id AND t.attempt = c.attempt AND t.status::text = 'processing'
       RETURNING t.id, t.attempt`,
      [JSON.stringify(requests)],
    );
    const done = new Set(rows.map((row) => `${row.id}:${row.attempt}`));
    return requests.map(({ id, attempt }) => done.delete(`${id}:${attempt}`));
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

  /**
   * Progress of a running task; `attempt` pins it to one execution when a worker reports.
   * Progress never goes back within an attempt (a claim resets it to 0): a report below the
   * current value is a late one and changes nothing, so null is returned for it too.
   */
  async updateProgress(id: string, progress: number, message: string | null, attempt?: number): Promise<TaskRecord | null> {
    const [row] = await this.prisma.task.updateManyAndReturn({
      where: { id, status: TaskStatus.processing, progress: { lte: progress }, ...(attempt === undefined ? {} : { attempt }) },
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

  /**
   * Mean run time in seconds of the last `sample` completed tasks of a type (all types when null).
   * `completed_at IS NOT NULL` is not redundant: a descending index scan meets NULLs first, and
   * every queued or running version of every task has one — without it, a burst of 100k tasks
   * made this read walk 200k+ index entries (400–500 ms) before reaching a completed task.
   */
  async recentAverageRunSeconds(taskType: TaskType | null, sample: number): Promise<number | null> {
    const typeFilter = taskType ? Prisma.sql`AND task_type = ${taskType}::task_type` : Prisma.empty;
    const rows = await this.prisma.$queryRaw<Array<{ avg: number | null }>>`
      SELECT avg(extract(epoch FROM completed_at - started_at))::float8 AS avg FROM (
        SELECT completed_at, started_at FROM tasks
        WHERE status = 'completed' AND completed_at IS NOT NULL AND started_at IS NOT NULL ${typeFilter}
        ORDER BY completed_at DESC LIMIT ${sample}
      ) recent`;
    return rows[0]?.avg ?? null;
  }

  /** Processing tasks not touched since `olderThan`: candidates for a lost worker or a lost parent update. */
  /**
   * SQL rather than Prisma's `_count` of children, which Prisma writes as a GROUP BY over the
   * whole table — a full scan per reconcile pass; EXISTS reads the parent_id index instead.
   */
  async findStaleProcessing(olderThan: Date, limit: number): Promise<StaleTask[]> {
    const { rows } = await this.prisma.pool.query<StaleTask>(
      `SELECT t.id, t.task_type AS "taskType", t.priority, t.schedule_for AS "scheduleFor", t.max_retries AS "maxRetries", t.attempt,
              EXISTS (SELECT 1 FROM tasks c WHERE c.parent_id = t.id) AS "hasChildren"
       FROM tasks AS t
       WHERE t.status = 'processing' AND t.updated_at < $1
       ORDER BY t.updated_at
       LIMIT $2`,
      [olderThan, limit],
    );
    return rows;
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
  /**
   * SQL with the status as a literal: the planner then knows `queued` rows are few and reads
   * them through the status index, where Prisma's bound parameter let a generic plan walk the
   * updated_at index over the whole table.
   */
  async findDueQueued(
    olderThan: Date,
    limit: number,
  ): Promise<Pick<TaskRecord, 'id' | 'taskType' | 'priority' | 'scheduleFor' | 'maxRetries' | 'updatedAt'>[]> {
    const { rows } = await this.prisma.pool.query<Pick<TaskRecord, 'id' | 'taskType' | 'priority' | 'scheduleFor' | 'maxRetries' | 'updatedAt'>>(
      `SELECT t.id, t.task_type AS "taskType", t.priority, t.schedule_for AS "scheduleFor", t.max_retries AS "maxRetries", t.updated_at AS "updatedAt"
       FROM tasks AS t
       WHERE t.status = 'queued' AND t.updated_at < $1
       ORDER BY t.updated_at DESC
       LIMIT $2`,
      [olderThan, limit],
    );
    return rows;
  }
}

/** A new task as one element of the JSON array INSERT_TASKS reads, under its column names. */
function toInsertRecord({ id, task }: { id: string; task: NewTask }) {
  return {
    id,
    task_type: task.taskType,
    kb_id: task.kbId,
    priority: task.priority,
    payload: task.payload,
    max_retries: task.maxRetries,
    timeout: task.timeoutSeconds,
    schedule_for: task.scheduleFor,
    parent_id: task.parentId ?? null,
    callback_url: task.callbackUrl ?? null,
    callback_secret: task.callbackSecret ?? null,
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
