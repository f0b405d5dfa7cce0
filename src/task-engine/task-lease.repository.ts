import { Injectable } from '@nestjs/common';
import type { Task } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import type { TaskRecord } from '../task-types/task-record';
import { TASK_RETURNING, toTaskRecord } from '../task-types/task-rows';
import type { TaskStatus, TaskType } from '../task-types/task-types';
import { TRANSITIONS } from './task-transitions';

/** What an external worker asks for: up to `maxTasks` due tasks of `taskTypes`, within `kbIds` when it is limited to some. */
export interface LeaseRequest {
  workerId: string;
  taskTypes: readonly TaskType[];
  /** Null: every kb. */
  kbIds: readonly string[] | null;
  maxTasks: number;
  leaseSeconds: number;
}

/** A task that may be leased next, with what its concurrency caps are keyed by. */
export interface LeaseCandidate {
  id: string;
  kbId: string;
  taskType: TaskType;
  /** The attempts it has had: leasing it starts attempt + 1 (and only if no one else started one meanwhile). */
  attempt: number;
}

/** A task an external worker holds, and the lease it holds it by. */
export interface LeasedTask {
  task: TaskRecord;
  leaseToken: string;
  leaseExpiresAt: Date;
}

/** What a refused lease call is explained from. */
export interface LeaseState {
  status: TaskStatus;
  leaseToken: string | null;
  /** Whether a lease runs and has not reached its end. */
  leaseRunning: boolean;
}

/** How a leased attempt that did not succeed ended: back to the queue, or the task failed. */
export interface EndedLease {
  task: TaskRecord;
  requeued: boolean;
}

const LEASE_COLUMNS = `${TASK_RETURNING}, t.lease_token AS "leaseToken", t.lease_expires_at AS "leaseExpiresAt"`;
type LeaseRow = Task & { leaseToken: string; leaseExpiresAt: Date };

/** The statuses as SQL literals, from the transition table; compared as the enum so the partial indexes serve them. */
const QUEUED = `'${TRANSITIONS.lease.from[0]}'`;
const PROCESSING = `'${TRANSITIONS.lease.to}'`;

/** What starting a leased attempt writes: a new attempt, its worker, a fresh token and the lease's end. */
function startLease(workerId: string, leaseSeconds: string): string {
  return `status = ${PROCESSING}, attempt = t.attempt + 1, lease_attempts = t.lease_attempts + 1, worker_id = ${workerId},
        started_at = now(), updated_at = now(), progress = 0, progress_message = NULL,
        lease_token = gen_random_uuid(), lease_expires_at = now() + make_interval(secs => ${leaseSeconds})`;
}

/**
 * Candidates, then the claim, in one statement. Round-robin between knowledge bases within a
 * priority: each kb's due tasks are numbered oldest first (kb_turn), and tasks are taken by
 * priority, then turn, then age — every kb's oldest task before any kb's second. This is the
 * one place lease selection happens (with concurrency caps, LEASE_CANDIDATES and LEASE_CHOSEN
 * split it around the Redis slots, in the same order).
 *
 * FOR UPDATE … SKIP LOCKED: two workers leasing at once never wait for nor get the same row;
 * the status is checked again on the locked row (and by the UPDATE), so a task cancelled or
 * leased in between is skipped.
 */
const LEASE_TASKS = `
  WITH due AS (
    SELECT t.id, t.priority, t.created_at,
           row_number() OVER (PARTITION BY t.priority, t.kb_id ORDER BY t.created_at, t.id) AS kb_turn
    FROM tasks AS t
    WHERE t.status = ${QUEUED} AND t.task_type = ANY($1::task_type[])
      AND (t.schedule_for IS NULL OR t.schedule_for <= now())
      AND ($2::text[] IS NULL OR t.kb_id = ANY($2::text[]))
  ),
  picked AS (
    SELECT t.id, due.kb_turn FROM due JOIN tasks AS t ON t.id = due.id
    WHERE t.status = ${QUEUED}
    ORDER BY due.priority DESC, due.kb_turn, due.created_at, due.id
    LIMIT $3
    FOR UPDATE OF t SKIP LOCKED
  ),
  leased AS (
    UPDATE tasks AS t
    SET ${startLease('$4', '$5')}
    FROM picked
    WHERE t.id = picked.id AND t.status = ${QUEUED}
    RETURNING ${LEASE_COLUMNS}, picked.kb_turn AS "kbTurn"
  )
  -- RETURNING comes in no particular order: the worker gets its tasks in the order they were picked.
  SELECT * FROM leased ORDER BY priority DESC, "kbTurn", "createdAt", id`;

/**
 * With concurrency caps, a lease is two steps: the candidates in LEASE_TASKS's order (no lock
 * taken), then — for those that got a cap slot in Redis — the claim. Same filters, same order.
 */
const LEASE_CANDIDATES = `
  WITH due AS (
    SELECT t.id, t.kb_id, t.task_type, t.attempt, t.priority, t.created_at,
           row_number() OVER (PARTITION BY t.priority, t.kb_id ORDER BY t.created_at, t.id) AS kb_turn
    FROM tasks AS t
    WHERE t.status = ${QUEUED} AND t.task_type = ANY($1::task_type[])
      AND (t.schedule_for IS NULL OR t.schedule_for <= now())
      AND ($2::text[] IS NULL OR t.kb_id = ANY($2::text[]))
  )
  SELECT due.id, due.kb_id AS "kbId", due.task_type AS "taskType", due.attempt FROM due
  ORDER BY due.priority DESC, due.kb_turn, due.created_at, due.id
  LIMIT $3`;

/**
 * The claim of chosen candidates, in the order given; each row re-checked on the locked row
 * (still queued, due, and at the attempt it was chosen at), so a task leased, cancelled or
 * rescheduled in between is skipped — and the attempt its cap slot was taken for is the one it starts.
 * The status is compared as text so the planner probes the ids rather than reading every
 * queued row through a status index (bench/README.md, "PostgreSQL per task").
 */
const LEASE_CHOSEN = `
  WITH picked AS (
    SELECT t.id, chosen.ord FROM unnest($1::uuid[], $4::int[]) WITH ORDINALITY AS chosen(id, attempt, ord)
    JOIN tasks AS t ON t.id = chosen.id
    WHERE t.status::text = ${QUEUED} AND t.attempt = chosen.attempt
      AND (t.schedule_for IS NULL OR t.schedule_for <= now())
    FOR UPDATE OF t SKIP LOCKED
  ),
  leased AS (
    UPDATE tasks AS t
    SET ${startLease('$2', '$3')}
    FROM picked
    WHERE t.id = picked.id
    RETURNING ${LEASE_COLUMNS}, picked.ord
  )
  SELECT * FROM leased ORDER BY ord`;

/** The guard of every call made under a lease: this task, this lease, still running and not yet expired. */
const HELD = `t.id = $1 AND t.lease_token = $2::uuid AND t.status = ${PROCESSING} AND t.lease_expires_at > now()`;

/** Extends the lease; progress (a late, lower one is ignored: never backwards) and its message when given. */
const RENEW_LEASE = `
  UPDATE tasks AS t
  SET lease_expires_at = CASE WHEN $3::float8 IS NULL THEN t.lease_expires_at ELSE now() + make_interval(secs => $3::float8) END,
      progress = GREATEST(t.progress, COALESCE($4::int, t.progress)),
      progress_message = CASE WHEN $4::int IS NULL AND $5::text IS NULL THEN t.progress_message ELSE $5::text END,
      updated_at = now()
  WHERE ${HELD}
  RETURNING ${LEASE_COLUMNS}`;

const COMPLETE_LEASED = `
  UPDATE tasks AS t
  SET status = '${TRANSITIONS.complete.to}', result = $3::jsonb, progress = 100, error_message = NULL,
      completed_at = now(), updated_at = now(), lease_expires_at = NULL
  WHERE ${HELD}
  RETURNING ${TASK_RETURNING}`;

/**
 * How an attempt that did not succeed ends ($requeue: a retryable failure or an expired lease).
 * It goes back to the queue while the task has leases left (lease_attempts ≤ max_retries),
 * else the task fails — BullMQ's rule for the built-in workers. A failed attempt waits its
 * backoff (schedule_for: the first retry after TASK_RETRY_BACKOFF_MS, doubling); an expired
 * one is requeued at once, as BullMQ does with a stalled job. Only a retryable failure's
 * requeue drops the token: an expired lease keeps it, so its worker hears LEASE_EXPIRED
 * until the task is leased again (then LEASE_LOST).
 */
function endAttempt(requeue: string, backoffMs: string, keepTokenOnRequeue: boolean): string {
  const retry = `(${requeue} AND t.lease_attempts <= t.max_retries)`;
  return `
      status = CASE WHEN ${retry} THEN '${TRANSITIONS.retryAttempt.to}'::task_status ELSE '${TRANSITIONS.fail.to}'::task_status END,
      retry_count = t.retry_count + CASE WHEN ${retry} THEN 1 ELSE 0 END,
      schedule_for = CASE WHEN ${retry} AND ${backoffMs} > 0
                          THEN now() + make_interval(secs => ${backoffMs} / 1000.0 * power(2, t.lease_attempts - 1))
                          ELSE t.schedule_for END,
      completed_at = CASE WHEN ${retry} THEN NULL ELSE now() END,
      worker_id = CASE WHEN ${retry} THEN NULL ELSE t.worker_id END,
      lease_token = CASE WHEN ${retry} AND NOT ${keepTokenOnRequeue} THEN NULL ELSE t.lease_token END,
      lease_expires_at = NULL, updated_at = now()`;
}

const FAIL_LEASED = `
  UPDATE tasks AS t
  SET error_message = $3, ${endAttempt('$4::boolean', '$5::float8', false)}
  WHERE ${HELD}
  RETURNING ${TASK_RETURNING}`;

/** Expired leases, oldest first; several API processes sweep at once without meeting (SKIP LOCKED). */
const EXPIRE_LEASES = `
  WITH expired AS (
    SELECT t.id FROM tasks AS t
    WHERE t.status = ${PROCESSING} AND t.lease_expires_at IS NOT NULL AND t.lease_expires_at <= now()
    ORDER BY t.lease_expires_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
  )
  UPDATE tasks AS t
  SET error_message = 'Lease expired: worker ' || coalesce(t.worker_id, '?') || ' sent no heartbeat in time',
      progress_message = CASE WHEN t.lease_attempts <= t.max_retries THEN 'Requeued: its lease expired' ELSE t.progress_message END,
      ${endAttempt('true', '0', true)}
  FROM expired
  WHERE t.id = expired.id AND t.status = ${PROCESSING}
  RETURNING ${TASK_RETURNING}`;

const PROGRESS_LEASED = `
  UPDATE tasks AS t
  SET progress = $3, progress_message = $4, updated_at = now()
  WHERE ${HELD} AND t.progress <= $3
  RETURNING ${TASK_RETURNING}`;

/**
 * The tasks table's lease writes: what external workers do to a task over REST, as guarded
 * statements for the task engine (its only user). Every call made under a lease is
 * conditional on the lease token, the status and the expiry, so a worker whose lease expired,
 * was cancelled or passed to another worker changes nothing; null then, and the engine reads
 * leaseState() to say why.
 */
@Injectable()
export class TaskLeaseRepository {
  constructor(private readonly prisma: PrismaService) {}

  async lease(request: LeaseRequest): Promise<LeasedTask[]> {
    const { rows } = await this.prisma.pool.query<LeaseRow>(LEASE_TASKS, [
      request.taskTypes,
      request.kbIds,
      request.maxTasks,
      request.workerId,
      request.leaseSeconds,
    ]);
    return rows.map(toLeasedTask);
  }

  /** Up to `limit` tasks `lease()` would take, in its order, without taking them. */
  async leaseCandidates(
    request: Omit<LeaseRequest, 'workerId' | 'leaseSeconds'>,
    limit: number,
  ): Promise<LeaseCandidate[]> {
    const { rows } = await this.prisma.pool.query<LeaseCandidate>(LEASE_CANDIDATES, [
      request.taskTypes,
      request.kbIds,
      limit,
    ]);
    return rows;
  }

  /** Leases the given candidates that are still queued, due and at the same attempt, in the given order. */
  async leaseChosen(chosen: readonly LeaseCandidate[], workerId: string, leaseSeconds: number): Promise<LeasedTask[]> {
    const { rows } = await this.prisma.pool.query<LeaseRow>(LEASE_CHOSEN, [
      chosen.map((c) => c.id),
      workerId,
      leaseSeconds,
      chosen.map((c) => c.attempt),
    ]);
    return rows.map(toLeasedTask);
  }

  /** Extends the lease by `leaseSeconds` from now (null: keeps its end); a progress below the current one is refused (null). */
  async renew(
    id: string,
    token: string,
    leaseSeconds: number | null,
    progress: number | null,
    message: string | null,
  ): Promise<LeasedTask | null> {
    const { rows } = await this.prisma.pool.query<LeaseRow>(RENEW_LEASE, [id, token, leaseSeconds, progress, message]);
    return rows[0] ? toLeasedTask(rows[0]) : null;
  }

  async reportProgress(
    id: string,
    token: string,
    progress: number,
    message: string | null,
  ): Promise<TaskRecord | null> {
    const { rows } = await this.prisma.pool.query<Task>(PROGRESS_LEASED, [id, token, progress, message]);
    return rows[0] ? toTaskRecord(rows[0]) : null;
  }

  async complete(id: string, token: string, result: unknown): Promise<TaskRecord | null> {
    const { rows } = await this.prisma.pool.query<Task>(COMPLETE_LEASED, [id, token, JSON.stringify(result ?? null)]);
    return rows[0] ? toTaskRecord(rows[0]) : null;
  }

  /** Ends a leased attempt as failed: requeued after its backoff when `retryable` and leases are left, else the task fails. */
  async fail(
    id: string,
    token: string,
    errorMessage: string,
    retryable: boolean,
    backoffMs: number,
  ): Promise<EndedLease | null> {
    const { rows } = await this.prisma.pool.query<Task>(FAIL_LEASED, [id, token, errorMessage, retryable, backoffMs]);
    return rows[0] ? toEndedLease(rows[0]) : null;
  }

  /** Up to `limit` expired leases ended: each task requeued at once, or failed when it has no lease left. */
  async expire(limit: number): Promise<EndedLease[]> {
    const { rows } = await this.prisma.pool.query<Task>(EXPIRE_LEASES, [limit]);
    return rows.map(toEndedLease);
  }

  async leaseState(id: string): Promise<LeaseState | null> {
    const { rows } = await this.prisma.pool.query<LeaseState>(
      `SELECT t.status, t.lease_token::text AS "leaseToken", coalesce(t.lease_expires_at > now(), false) AS "leaseRunning"
       FROM tasks AS t WHERE t.id = $1`,
      [id],
    );
    return rows[0] ?? null;
  }
}

function toLeasedTask(row: LeaseRow): LeasedTask {
  return { task: toTaskRecord(row), leaseToken: row.leaseToken, leaseExpiresAt: row.leaseExpiresAt };
}

function toEndedLease(row: Task): EndedLease {
  const task = toTaskRecord(row);
  return { task, requeued: task.status === TRANSITIONS.retryAttempt.to };
}
