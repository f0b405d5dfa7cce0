import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DomainError, TaskNotFoundError } from '../common/errors/domain.error';
import { ErrorCode } from '../common/errors/error-codes';
import { errorMessage } from '../common/errors/error-message';
import type { AllConfig } from '../config/app.config';
import type { AttemptFailureReason } from '../metrics/metrics';
import { TaskMetricsService } from '../metrics/task-metrics.service';
import type { UnitOfWork } from '../prisma/unit-of-work';
import type { NewTask, StaleTask, TaskRecord } from '../task-types/task-record';
import { TaskStatus } from '../task-types/task-types';
import { holdsLease, leaseRefusal } from './lease-refusal';
import { TaskEffects } from './task-effects';
import { TaskFamilyService } from './task-family.service';
import { EndedLease, LeaseCandidate, LeasedTask, LeaseRequest, TaskLeaseRepository } from './task-lease.repository';
import { TaskQueryRepository } from './task-query.repository';
import { allows, assertAllowed, refusal, TRANSITIONS } from './task-transitions';
import { TaskWriteRepository } from './task-write.repository';

/** How often a state change racing ours is re-read before giving up. */
const RACE_RETRIES = 3;

/**
 * The task engine: the only writer of a task's state. The API (create, cancel, retry,
 * progress), bulk actions, the reconciler and the worker lifecycle ask it for transitions;
 * it checks them against TRANSITIONS, writes them through guarded repository primitives
 * (PostgreSQL first: it is the truth), then applies what follows outside the database —
 * metrics, BullMQ jobs, the parent's re-evaluation — once the write has committed.
 */
@Injectable()
export class TaskStateService {
  private readonly logger = new Logger(TaskStateService.name);
  private readonly retryBackoffMs: number;

  constructor(
    private readonly writes: TaskWriteRepository,
    private readonly reads: TaskQueryRepository,
    private readonly leases: TaskLeaseRepository,
    private readonly family: TaskFamilyService,
    private readonly effects: TaskEffects,
    private readonly metrics: TaskMetricsService,
    config: ConfigService<AllConfig, true>,
  ) {
    this.retryBackoffMs = config.getOrThrow('queue.retryBackoffMs', { infer: true });
  }

  /** Stores new tasks (queued), inside `uow` when given; nothing is dispatched until released() after the commit. */
  insert(tasks: NewTask[], uow?: UnitOfWork): Promise<TaskRecord[]> {
    return this.writes.insert(tasks, uow);
  }

  /** A new task under an id fixed in advance, unless that id is stored already (null then); released() dispatches it. */
  insertIfAbsent(id: string, task: NewTask): Promise<TaskRecord | null> {
    return this.writes.insertIfAbsent(id, task);
  }

  /** Tasks whose INSERT committed: counted and dispatched (a failed dispatch is left to the reconciler). */
  released(tasks: TaskRecord[]): Promise<void> {
    return this.effects.created(tasks);
  }

  /**
   * Queued: its job is removed. Running: every worker is told to abort it. Either way the
   * task is `cancelled` in PostgreSQL first, so a worker that picks it up anyway skips it
   * and a handler that finishes anyway has its result discarded.
   */
  async cancel(id: string): Promise<TaskRecord> {
    for (let round = 0; round < RACE_RETRIES; round++) {
      const task = await this.load(id);
      assertAllowed('cancel', task);
      const [cancelled] = await this.writes.cancel([id], task.status);
      if (!cancelled) continue;
      await this.afterCancel([cancelled], new Set([id]));
      return cancelled;
    }
    throw new DomainError(
      ErrorCode.TaskNotCancelable,
      'Task changed state repeatedly while being canceled; try again',
      { task_id: id },
    );
  }

  /** cancel() for those of `ids` still in `from`, in one statement; how many were cancelled. */
  async cancelMany(ids: string[], from: TaskStatus): Promise<number> {
    const cancelled = await this.writes.cancel(ids, from);
    await this.afterCancel(cancelled, new Set(ids));
    return cancelled.length;
  }

  /** Failed or cancelled tasks go back to the queue with a fresh set of attempts; the retry is counted. */
  async retry(id: string): Promise<TaskRecord> {
    for (let round = 0; round < RACE_RETRIES; round++) {
      const task = await this.load(id);
      assertAllowed('retry', task);
      const requeued = await this.writes.retry([id], task.status);
      if (requeued.length === 0) continue;
      await this.effects.retried(requeued);
      return requeued[0];
    }
    throw new DomainError(ErrorCode.TaskNotRetryable, 'Task changed state repeatedly while being retried; try again', {
      task_id: id,
    });
  }

  /** retry() for those of `ids` still in `from`, in one statement; how many were requeued. */
  async retryMany(ids: string[], from: TaskStatus): Promise<number> {
    const requeued = await this.writes.retry(ids, from);
    await this.effects.retried(requeued);
    return requeued.length;
  }

  /** Progress reported through the API. A report below the task's current progress is a late one: ignored, the task returned as it is. */
  async reportProgress(id: string, progress: number, message: string | null): Promise<TaskRecord> {
    const updated = await this.writes.updateProgress(id, progress, message);
    if (updated) return updated;
    const task = await this.load(id);
    if (allows('progress', task.status) && task.progress > progress) return task;
    throw refusal('progress', task);
  }

  /** A worker starts an attempt; null when the task was cancelled, finished or deleted since it was queued. */
  async claim(taskId: string, workerId: string): Promise<TaskRecord | null> {
    const task = await this.writes.claim(taskId, workerId);
    if (task) this.metrics.started(task);
    return task;
  }

  /** A worker's progress, pinned to its attempt; clamped to 0–100. */
  async recordProgress(task: TaskRecord, progress: number, message: string | null): Promise<void> {
    await this.writes.updateProgress(task.id, clampProgress(progress), message, { attempt: task.attempt });
  }

  /** The attempt succeeded; false when the task left that attempt meanwhile (cancelled): the result is discarded. */
  async complete(task: TaskRecord, result: unknown, seconds: number): Promise<boolean> {
    if (!(await this.writes.complete(task.id, task.attempt, result))) return false;
    this.metrics.completed(task, seconds);
    await this.notifyParent(task);
    return true;
  }

  /** The attempt failed; `final` ends the task, otherwise it is queued again for BullMQ's retry. */
  async failAttempt(
    task: TaskRecord,
    errorMessage: string,
    final: boolean,
    reason: AttemptFailureReason,
    seconds: number,
  ): Promise<boolean> {
    if (!(await this.writes.failAttempt(task.id, task.attempt, errorMessage, final))) return false;
    this.metrics.attemptFailed(task, seconds, reason, final);
    if (final) await this.notifyParent(task);
    return true;
  }

  /** BullMQ gave up on a job outside its handler (it stalled too often): whatever attempt runs is ended. */
  async failStalled(taskId: string, errorMessage: string): Promise<boolean> {
    const task = await this.writes.failRunning(taskId, errorMessage).catch(() => null);
    if (!task) return false;
    this.metrics.attemptFailed(task, null, 'stalled', true);
    await this.notifyParent(task);
    return true;
  }

  /** The parent's own step is done: it keeps its partial result and stays processing; null when its attempt is over. */
  holdForChildren(
    task: TaskRecord,
    partialResult: Record<string, unknown>,
    progress: number,
  ): Promise<TaskRecord | null> {
    return this.writes.holdForChildren(task.id, task.attempt, partialResult, progress);
  }

  /** Creates (or retries) a held parent's children and re-evaluates it. */
  startChildren(parent: TaskRecord, children: NewTask[]): Promise<void> {
    return this.family.startChildren(parent, children);
  }

  /** A running attempt goes back to the queue (its worker shuts down); false when it was no longer running. */
  requeue(task: Pick<TaskRecord, 'id' | 'attempt'>, reason: string): Promise<boolean> {
    return this.writes.requeue(task.id, task.attempt, reason);
  }

  /** The reconciler found a processing task whose worker and job are gone: requeued and dispatched again. */
  async recoverOrphan(task: StaleTask): Promise<boolean> {
    if (!(await this.writes.requeue(task.id, task.attempt, 'its worker and job were lost'))) return false;
    await this.effects.redispatch(task);
    return true;
  }

  /** Re-evaluates a parent (the reconciler, for a parent whose last child update was lost). */
  childSettled(parentId: string): Promise<void> {
    return this.family.childSettled(parentId);
  }

  /**
   * External workers: up to `maxTasks` due tasks leased at once (see TaskLeaseRepository for
   * the order); each starts an attempt, counted like a built-in worker's claim.
   */
  async lease(request: LeaseRequest): Promise<LeasedTask[]> {
    const leased = await this.leases.lease(request);
    for (const { task } of leased) this.metrics.started(task);
    return leased;
  }

  /** What lease() would take next (up to `limit`), untouched: the lease path with concurrency caps picks from these. */
  leaseCandidates(request: Omit<LeaseRequest, 'workerId' | 'leaseSeconds'>, limit: number): Promise<LeaseCandidate[]> {
    return this.leases.leaseCandidates(request, limit);
  }

  /** Leases the chosen candidates still queued and due, in the order given; each starts an attempt, as in lease(). */
  async leaseChosen(chosen: readonly LeaseCandidate[], workerId: string, leaseSeconds: number): Promise<LeasedTask[]> {
    const leased = await this.leases.leaseChosen(chosen, workerId, leaseSeconds);
    for (const { task } of leased) this.metrics.started(task);
    return leased;
  }

  /** A heartbeat: the lease runs `leaseSeconds` more from now (null: unchanged), with progress when given; 409 with why when the lease is gone. */
  async renewLease(
    id: string,
    token: string,
    leaseSeconds: number | null,
    progress: number | null,
    message: string | null,
  ): Promise<LeasedTask> {
    const renewed = await this.leases.renew(
      id,
      token,
      leaseSeconds,
      progress === null ? null : clampProgress(progress),
      message,
    );
    if (renewed) return renewed;
    throw leaseRefusal(id, token, await this.leases.leaseState(id));
  }

  /** Progress reported under a lease; a late report below the current progress is ignored, like reportProgress(). */
  async reportLeasedProgress(id: string, token: string, progress: number, message: string | null): Promise<TaskRecord> {
    const updated = await this.leases.reportProgress(id, token, progress, message);
    if (updated) return updated;
    const state = await this.leases.leaseState(id);
    if (state && holdsLease(state, token)) return this.load(id);
    throw leaseRefusal(id, token, state);
  }

  /** The leased attempt succeeded; 409 with why when the lease is gone (the result is not stored). */
  async completeLeased(id: string, token: string, result: unknown): Promise<TaskRecord> {
    const task = await this.leases.complete(id, token, result);
    if (!task) throw leaseRefusal(id, token, await this.leases.leaseState(id));
    this.metrics.completed(task, secondsSince(task.startedAt));
    await this.notifyParent(task);
    return task;
  }

  /** The leased attempt failed: requeued after its backoff when `retryable` and attempts are left, else the task fails. */
  async failLeased(id: string, token: string, error: string, retryable: boolean): Promise<TaskRecord> {
    const ended = await this.leases.fail(id, token, error, retryable, this.retryBackoffMs);
    if (!ended) throw leaseRefusal(id, token, await this.leases.leaseState(id));
    await this.afterLeaseEnded(ended, retryable ? 'error' : 'permanent', secondsSince(ended.task.startedAt));
    return ended.task;
  }

  /** The sweeper: up to `limit` expired leases requeued (a failed attempt, like a stalled job) or failed when none are left; their tasks. */
  async expireLeases(limit: number): Promise<TaskRecord[]> {
    const ended = await this.leases.expire(limit);
    for (const lease of ended) await this.afterLeaseEnded(lease, 'stalled', null);
    return ended.map(({ task }) => task);
  }

  private async afterLeaseEnded(
    { task, requeued }: EndedLease,
    reason: AttemptFailureReason,
    seconds: number | null,
  ): Promise<void> {
    this.metrics.attemptFailed(task, seconds, reason, !requeued);
    if (requeued) await this.effects.requeued([task]);
    else await this.notifyParent(task);
  }

  /**
   * What every cancel is followed by, single or bulk: jobs stopped, unfinished descendants
   * cancelled the same way, and each parent outside `batch` re-evaluated.
   */
  private async afterCancel(cancelled: TaskRecord[], batch: Set<string>): Promise<void> {
    await this.effects.cancelled(cancelled);
    for (const parentId of await this.reads.withOpenChildren(cancelled.map((t) => t.id)))
      await this.cancelChildren(parentId);
    for (const parentId of new Set(
      cancelled.flatMap((t) => (t.parentId && !batch.has(t.parentId) ? [t.parentId] : [])),
    )) {
      await this.family.childSettled(parentId);
    }
  }

  private async cancelChildren(parentId: string): Promise<void> {
    const children = await this.reads.findOpenChildren(parentId);
    for (const status of TRANSITIONS.cancel.from) {
      const ids = children.filter((child) => child.status === status).map((child) => child.id);
      if (ids.length > 0) await this.afterCancel(await this.writes.cancel(ids, status), new Set([parentId]));
    }
  }

  /** A child reached its end: its parent may now advance or finish. */
  private async notifyParent(task: TaskRecord): Promise<void> {
    if (!task.parentId) return;
    await this.family.childSettled(task.parentId).catch((error: unknown) => {
      this.logger.warn(`Parent ${task.parentId} not updated after ${task.id}: ${errorMessage(error)}`);
    });
  }

  private async load(id: string): Promise<TaskRecord> {
    const task = await this.reads.findById(id);
    if (!task) throw new TaskNotFoundError(id);
    return task;
  }
}

function secondsSince(startedAt: Date | null): number {
  return startedAt ? Math.max(0, (Date.now() - startedAt.getTime()) / 1000) : 0;
}

function clampProgress(progress: number): number {
  return Math.max(0, Math.min(100, Math.round(progress)));
}
