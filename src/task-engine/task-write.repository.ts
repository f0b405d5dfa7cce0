import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { isDatabaseUnavailable } from '../common/errors/infrastructure-errors';
import { Coalescer } from '../common/utils/coalescer';
import { Prisma, Task } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import type { UnitOfWork } from '../prisma/unit-of-work';
import type { NewTask, TaskRecord } from '../task-types/task-record';
import { TASK_RETURNING, toTaskRecord, toTaskRecordOrNull } from '../task-types/task-rows';
import { TaskStatus } from '../task-types/task-types';
import { allows, sqlFrom, Transition, TRANSITIONS } from './task-transitions';

/** Any number of tasks in one statement: $1 is a JSON array of toInsertRecord()s. */
const INSERT_TASKS_FROM_JSON = `
  INSERT INTO tasks AS t (id, task_type, kb_id, priority, payload, max_retries, timeout, schedule_for, parent_id, callback_url, callback_secret)
  SELECT id, task_type, kb_id, priority, payload, max_retries, timeout, schedule_for, parent_id, callback_url, callback_secret
  FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, task_type task_type, kb_id varchar(128), priority task_priority, payload jsonb,
       max_retries int, timeout int, schedule_for timestamptz, parent_id uuid, callback_url text, callback_secret text)`;
const INSERT_TASKS = `${INSERT_TASKS_FROM_JSON} RETURNING ${TASK_RETURNING}`;
/** For ids the caller fixed: an id already stored is left as it is and not returned. */
const INSERT_TASKS_IF_ABSENT = `${INSERT_TASKS_FROM_JSON} ON CONFLICT (id) DO NOTHING RETURNING ${TASK_RETURNING}`;

/**
 * Claims in one UPDATE. A task claimed twice in one flush (its job handed out again while
 * the first claim waits) is given to the first caller only; the second finds nothing to run.
 *
 * The rows are looked up by id: the status guard is compared as text, which no index serves.
 * Compared as the enum, the planner could read them through an index on status instead —
 * and it did whenever its statistics predated a backlog (they always do during a burst):
 * each flush then read every queued task, ~640 rows per task over a 20,000-task run.
 */
const CLAIM_TASKS = `
  UPDATE tasks AS t
  SET status = '${TRANSITIONS.claim.to}', attempt = t.attempt + 1, worker_id = c.worker_id, started_at = now(), updated_at = now(),
      progress = 0, progress_message = NULL
  FROM (SELECT DISTINCT ON (id) id, worker_id FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, worker_id varchar(128))) AS c
  WHERE t.id = c.id AND t.status::text IN (${sqlFrom('claim')})
  RETURNING ${TASK_RETURNING}`;

/** Looked up by id, the status guard compared as text: see CLAIM_TASKS. */
const COMPLETE_TASKS = `
  UPDATE tasks AS t
  SET status = '${TRANSITIONS.complete.to}', result = c.result, progress = 100, error_message = NULL, completed_at = now(), updated_at = now()
  FROM jsonb_to_recordset($1::jsonb) AS c(id uuid, attempt int, result jsonb)
  WHERE t.id = c.id AND t.attempt = c.attempt AND t.status::text IN (${sqlFrom('complete')})
  RETURNING t.id, t.attempt`;

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
 * Every write of the tasks table, as guarded primitives for the task engine (its only
 * user). Each state change is a conditional UPDATE on the statuses TRANSITIONS allows (and,
 * for a worker, on its attempt number), so a stale or duplicate writer changes nothing
 * instead of overwriting a newer state. Methods taking a UnitOfWork join the caller's transaction.
 *
 * The hot path — creating tasks, a worker claiming and completing them — is SQL on the
 * shared pg pool, coalesced across concurrent callers; the rest goes through Prisma.
 */
@Injectable()
export class TaskWriteRepository {
  private readonly inserts = new Coalescer<InsertRequest, TaskRecord[]>(
    (requests) => this.insertRequests(requests),
    INSERT_BATCH,
  );
  private readonly claims = new Coalescer<ClaimRequest, TaskRecord | null>(
    (requests) => this.claimAll(requests),
    TRANSITION_BATCH,
  );
  private readonly completions = new Coalescer<CompletionRequest, boolean>(
    (requests) => this.completeAll(requests),
    TRANSITION_BATCH,
  );

  constructor(private readonly prisma: PrismaService) {}

  /** One transaction holding a per-parent advisory lock, so a family is re-evaluated by one caller at a time. */
  inParentLock<T>(parentId: string, work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(async (uow) => {
      await uow.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${parentId}, 7))`;
      return work(uow);
    });
  }

  /**
   * The one INSERT path, all-or-nothing. Without `uow` the tasks go out in one multi-row
   * INSERT shared with concurrent callers; with it they join the caller's transaction.
   */
  /**
   * Stores a task under an id the caller chose, unless a task with that id exists: null
   * then. Safe for several processes to run at once (one of them stores it).
   */
  async insertIfAbsent(id: string, task: NewTask): Promise<TaskRecord | null> {
    const { rows } = await this.prisma.pool.query<Task>(INSERT_TASKS_IF_ABSENT, [
      JSON.stringify([toInsertRecord({ id, task })]),
    ]);
    return toTaskRecordOrNull(rows[0] ?? null);
  }

  async insert(tasks: NewTask[], uow?: UnitOfWork): Promise<TaskRecord[]> {
    if (tasks.length === 0) return [];
    if (!uow) return this.inserts.submit(tasks);
    const [rows] = await this.insertRequests([tasks], async (sql, records) =>
      (await uow.$queryRawUnsafe<Task[]>(sql, records)).map(toTaskRecord),
    );
    return rows;
  }

  claim(id: string, workerId: string): Promise<TaskRecord | null> {
    return this.claims.submit({ id, workerId });
  }

  /** Only the attempt that claimed the task may complete it, and only while it is processing. */
  complete(id: string, attempt: number, result: unknown): Promise<boolean> {
    return this.completions.submit({ id, attempt, result: result ?? null });
  }

  /** The parent's own step is done; it stays processing, holding its partial result, while its children run. */
  async holdForChildren(id: string, attempt: number, result: unknown, progress: number): Promise<TaskRecord | null> {
    const [row] = await this.prisma.task.updateManyAndReturn({
      where: { id, attempt, status: statusIn('awaitChildren') },
      data: { result: toJson(result), progress, progressMessage: 'Waiting for child tasks', updatedAt: new Date() },
    });
    return toTaskRecordOrNull(row);
  }

  /** A failed attempt: final ones end the task, others send it back to the queue for BullMQ's retry. */
  async failAttempt(id: string, attempt: number, errorMessage: string, final: boolean): Promise<boolean> {
    const now = new Date();
    const { count } = await this.prisma.task.updateMany({
      where: { id, attempt, status: statusIn(final ? 'fail' : 'retryAttempt') },
      data: final
        ? { status: TRANSITIONS.fail.to, errorMessage, completedAt: now, updatedAt: now }
        : { status: TRANSITIONS.retryAttempt.to, errorMessage, retryCount: { increment: 1 }, updatedAt: now },
    });
    return count === 1;
  }

  /** For failures BullMQ decides outside a handler (a job stalled too often): ends whatever attempt is running. */
  async failRunning(id: string, errorMessage: string): Promise<TaskRecord | null> {
    const now = new Date();
    const [row] = await this.prisma.task.updateManyAndReturn({
      where: { id, status: statusIn('fail') },
      data: { status: TRANSITIONS.fail.to, errorMessage, completedAt: now, updatedAt: now },
    });
    return toTaskRecordOrNull(row);
  }

  /**
   * Progress of a running task; `attempt` pins it to one execution when a worker reports.
   * Progress never goes back within an attempt (a claim resets it to 0): a report below the
   * current value is a late one and changes nothing, so null is returned for it too.
   */
  async updateProgress(
    id: string,
    progress: number,
    message: string | null,
    guard: { attempt?: number; uow?: UnitOfWork } = {},
  ): Promise<TaskRecord | null> {
    const [row] = await (guard.uow ?? this.prisma).task.updateManyAndReturn({
      where: {
        id,
        status: statusIn('progress'),
        progress: { lte: progress },
        ...(guard.attempt === undefined ? {} : { attempt: guard.attempt }),
      },
      data: { progress, progressMessage: message, updatedAt: new Date() },
    });
    return toTaskRecordOrNull(row);
  }

  /** A processing task whose worker is gone (or shutting down) goes back to the queue; not a failed attempt. */
  async requeue(id: string, attempt: number, reason: string): Promise<boolean> {
    const { count } = await this.prisma.task.updateMany({
      where: { id, attempt, status: statusIn('requeue') },
      data: {
        status: TRANSITIONS.requeue.to,
        workerId: null,
        progressMessage: `Requeued: ${reason}`,
        updatedAt: new Date(),
      },
    });
    return count === 1;
  }

  /** Cancels those of `ids` still in `from` (a status they were read in): one statement, the changed tasks returned. */
  async cancel(ids: string[], from: TaskStatus): Promise<TaskRecord[]> {
    const now = new Date();
    const rows = await this.prisma.task.updateManyAndReturn({
      where: { id: { in: ids }, status: guardedFrom('cancel', from) },
      data: { status: TRANSITIONS.cancel.to, completedAt: now, updatedAt: now, progressMessage: 'Canceled by request' },
    });
    return rows.map(toTaskRecord);
  }

  /**
   * Puts those of `ids` still in `from` back in the queue, counting the retry: a task
   * retried by the API, a bulk action or its parent's re-run starts from the same clean state.
   */
  async retry(ids: string[], from: TaskStatus, uow?: UnitOfWork): Promise<TaskRecord[]> {
    const rows = await (uow ?? this.prisma).task.updateManyAndReturn({
      where: { id: { in: ids }, status: guardedFrom('retry', from) },
      data: {
        status: TRANSITIONS.retry.to,
        retryCount: { increment: 1 },
        progress: 0,
        progressMessage: null,
        result: Prisma.DbNull,
        workerId: null,
        startedAt: null,
        completedAt: null,
        // An external type's fresh start: a full set of leases, and no old lease left to answer to.
        leaseToken: null,
        leaseExpiresAt: null,
        leaseAttempts: 0,
        updatedAt: new Date(),
      },
    });
    return rows.map(toTaskRecord);
  }

  /** Ends a parent waiting on its children; null when it was no longer processing (a cancel got there first). */
  async finishParent(
    uow: UnitOfWork,
    id: string,
    outcome: (typeof TRANSITIONS.finishParent.to)[number],
    result: object | null,
    errorMessage: string | null,
  ): Promise<TaskRecord | null> {
    const now = new Date();
    const completed = outcome === TaskStatus.completed;
    const [row] = await uow.task.updateManyAndReturn({
      where: { id, status: statusIn('finishParent') },
      data: {
        status: outcome,
        result: toJson(result),
        errorMessage,
        progress: completed ? 100 : undefined,
        progressMessage: completed ? 'All child tasks finished' : undefined,
        completedAt: now,
        updatedAt: now,
      },
    });
    return toTaskRecordOrNull(row);
  }

  /**
   * Many requests' tasks in one INSERT. Ids are made here so each request gets back exactly its
   * own rows. `run` executes the statement: the shared pool, or a caller's transaction.
   */
  private async insertRequests(
    requests: InsertRequest[],
    run: (sql: string, records: string) => Promise<TaskRecord[]> = async (sql, records) =>
      (await this.prisma.pool.query<Task>(sql, [records])).rows.map(toTaskRecord),
  ): Promise<TaskRecord[][]> {
    const withIds = requests.map((tasks) => tasks.map((task) => ({ id: randomUUID(), task })));
    const rows = await run(INSERT_TASKS, JSON.stringify(withIds.flat().map(toInsertRecord)));
    const byId = new Map(rows.map((row) => [row.id, row]));
    return withIds.map((tasks) => tasks.map(({ id }) => byId.get(id)!));
  }

  private async claimAll(requests: ClaimRequest[]): Promise<(TaskRecord | null)[]> {
    const { rows } = await this.prisma.pool.query<Task>(CLAIM_TASKS, [
      JSON.stringify(requests.map(({ id, workerId }) => ({ id, worker_id: workerId }))),
    ]);
    const claimed = new Map(rows.map((row) => [row.id, toTaskRecord(row)]));
    return requests.map(({ id }) => {
      const row = claimed.get(id) ?? null;
      claimed.delete(id);
      return row;
    });
  }

  private async completeAll(requests: CompletionRequest[]): Promise<boolean[]> {
    const { rows } = await this.prisma.pool.query<{ id: string; attempt: number }>(COMPLETE_TASKS, [
      JSON.stringify(requests),
    ]);
    const done = new Set(rows.map((row) => `${row.id}:${row.attempt}`));
    return requests.map(({ id, attempt }) => done.delete(`${id}:${attempt}`));
  }
}

/** The guard of a transition that starts from one status only: `{ in: [that status] }`. */
function statusIn(transition: Transition): { in: TaskStatus[] } {
  return { in: [...TRANSITIONS[transition].from] };
}

/** A status the caller read the tasks in; refused here when the table does not allow the transition from it. */
function guardedFrom(transition: Transition, from: TaskStatus): TaskStatus {
  if (!allows(transition, from)) throw new Error(`No ${transition} transition from ${from}`);
  return from;
}

function toJson(value: unknown): Prisma.InputJsonValue | typeof Prisma.DbNull {
  return value ?? Prisma.DbNull;
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
