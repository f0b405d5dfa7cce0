import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DelayedError, Job, UnrecoverableError, WaitingError } from 'bullmq';
import { errorMessage } from '../common/errors/error-message';
import { isDatabaseUnavailable } from '../common/errors/infrastructure-errors';
import {
  LeaseLostError,
  PermanentTaskError,
  TaskCancelledError,
  TaskTimeoutError,
  WorkerShutdownError,
} from '../common/errors/task-errors';
import { settledWithin } from '../common/utils/settled-within';
import type { AllConfig } from '../config/app.config';
import { CapSlot, ConcurrencyCapsService } from '../queues/concurrency-caps.service';
import { TaskStateService } from '../task-engine/task-state.service';
import type { NewTask, TaskRecord } from '../task-types/task-record';
import type { PayloadOf } from '../task-types/task-type-registry';
import type { TaskJobData, TaskType } from '../task-types/task-types';
import { PayloadValidatorService } from '../tasks/payload-validator.service';
import { ConcurrencyLimiter } from './concurrency-limiter';
import { untilWritten } from './durable-write';
import { TaskCancellationService, TaskLease } from './task-cancellation.service';
import { WorkerHeartbeatService } from './worker-heartbeat.service';
import { WORKER_ID } from './worker-identity';

/**
 * How long a hand-back waits for PostgreSQL to record `queued`: one UPDATE by primary key.
 * Past it the job goes back anyway (the next claim accepts a `processing` task), so a slow or
 * locked row cannot hold a shutdown past its grace period.
 */
const HAND_BACK_WRITE_MS = 500;

/**
 * A job whose kb or task type is at its concurrency cap waits this long (plus up to
 * CAP_RETRY_JITTER_MS, so the postponed jobs do not all return at once) before it is tried again.
 */
const CAP_RETRY_MS = 200;
const CAP_RETRY_JITTER_MS = 300;

/** What a handler gets: its task, its typed payload, a signal to honour, and a way to report progress. */
export interface TaskContext<T extends TaskType> {
  task: TaskRecord;
  payload: PayloadOf<T>;
  /** Aborted on cancel (reason TaskCancelledError) or timeout (reason TaskTimeoutError). */
  signal: AbortSignal;
  reportProgress: (progress: number, message?: string) => Promise<void>;
}

export type TaskHandler<T extends TaskType> = (context: TaskContext<T>) => Promise<unknown>;

/** A handler's context before its payload has been parsed. */
type RunContext = Omit<TaskContext<TaskType>, 'payload'>;

/**
 * What a parent's handler returns when its own step is done but its task finishes only
 * with its children: the partial result to keep, the progress so far and the children to start.
 */
export class AwaitChildren {
  constructor(
    readonly partialResult: Record<string, unknown>,
    readonly children: NewTask[],
    readonly progress: number,
  ) {}
}

/**
 * Runs a task's job. Every processor hands its job here: the task engine claims the task
 * (processing, worker id, attempt), the handler runs under the timeout and cancellation
 * signal, then the engine records completed, queued-for-retry or failed. Every such write is
 * conditional on the attempt it claimed, so a late writer changes nothing.
 * Errors propagate to BullMQ, whose attempts and backoff do the retrying.
 *
 * A PostgreSQL outage is not the task's failure: the claim and every outcome write wait it
 * out (untilWritten) while this process holds the job's lock, and a task whose write cannot
 * land before shutdown goes back to the queue instead of being stranded as `processing`.
 */
@Injectable()
export class TaskLifecycleService {
  private readonly logger = new Logger(TaskLifecycleService.name);
  private readonly limiter: ConcurrencyLimiter;

  constructor(
    private readonly engine: TaskStateService,
    private readonly cancellation: TaskCancellationService,
    private readonly heartbeat: WorkerHeartbeatService,
    private readonly payloads: PayloadValidatorService,
    private readonly caps: ConcurrencyCapsService,
    @Inject(WORKER_ID) private readonly workerId: string,
    config: ConfigService<AllConfig, true>,
  ) {
    this.limiter = new ConcurrencyLimiter(config.getOrThrow('queue.workerConcurrency', { infer: true }));
  }

  /** Runs the job of a `taskType` task: `handler` is that type's, and gets the payload parsed as that type's. */
  run<T extends TaskType>(taskType: T, job: Job<TaskJobData>, handler: TaskHandler<T>): Promise<unknown> {
    return this.limiter.run(async () => {
      // Fetched, but its turn came after SIGTERM: another worker starts it now, not after our grace period.
      if (!this.cancellation.accepting) throw await this.handBack(job, null);
      // The caps are checked before the claim, so a task over its kb's or type's cap never shows as processing.
      const slot: CapSlot = { taskId: job.data.taskId, kbId: job.data.kbId, taskType };
      if (!(await this.capSlot(slot))) throw await this.postpone(job);
      const lease = this.cancellation.hold(job.data.taskId);
      let task: TaskRecord | null = null;
      try {
        task = await this.durably(lease, 'claim', () => this.engine.claim(job.data.taskId, this.workerId));
        // Cancelled, finished or deleted since it was queued: nothing to run.
        if (!task) return { skipped: true };
        const claimed = task;
        return await this.execute(job, claimed, lease, async (context) => {
          // A job reaches the processor of its queue, named after its task's type; a task of another type would be read with the wrong payload class.
          if (claimed.taskType !== taskType)
            throw new PermanentTaskError(`Task ${claimed.id} is a ${claimed.taskType} task, not ${taskType}`);
          // The handler reads the validated view: the keys its type declares, checked again now.
          const payload = await this.payloads.parse(taskType, claimed.kbId, claimed.payload);
          return handler({ ...context, payload });
        });
      } catch (error) {
        // The grace period ended while the task ran or while one of its writes waited for PostgreSQL.
        if (error instanceof WorkerShutdownError) throw await this.handBack(job, task);
        throw error;
      } finally {
        lease.release();
        await this.caps.release(slot);
      }
    });
  }

  /** BullMQ failed a job without our handler (it stalled too often): end the task in PostgreSQL too. */
  async onJobFailedOutsideHandler(job: Job<TaskJobData> | undefined, error: Error): Promise<void> {
    const final = job !== undefined && job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!job || (!final && !/stalled/i.test(error.message))) return;
    if (await this.engine.failStalled(job.data.taskId, error.message)) {
      this.logger.warn(`Task ${job.data.taskId} failed outside its handler: ${error.message}`);
    }
  }

  /** The parent's step is done: keep its partial result, start its children, and free the worker. */
  private async awaitChildren(
    task: TaskRecord,
    lease: TaskLease,
    pending: AwaitChildren,
    seconds: number,
  ): Promise<unknown> {
    const parent = await this.durably(lease, 'partial result', () =>
      this.engine.holdForChildren(task, pending.partialResult, pending.progress),
    );
    if (!parent) return { discarded: true };
    await this.engine.startChildren(parent, pending.children);
    this.heartbeat.taskFinished(task.id, 'succeeded', seconds);
    return { awaiting_children: true };
  }

  private async execute(
    job: Job<TaskJobData>,
    task: TaskRecord,
    lease: TaskLease,
    handler: (context: RunContext) => Promise<unknown>,
  ): Promise<unknown> {
    const started = process.hrtime.bigint();
    const { controller } = lease;
    const timer = setTimeout(() => {
      controller.abort(new TaskTimeoutError(task.timeoutSeconds));
    }, task.timeoutSeconds * 1000);
    this.heartbeat.taskStarted(task.id);
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const context: RunContext = {
        task,
        signal: controller.signal,
        reportProgress: (progress, message) => this.reportProgress(task, progress, message),
      };
      let result: unknown;
      try {
        result = await untilAborted(handler(context), controller.signal);
      } finally {
        // The timeout bounds the handler; the outcome write after it may wait out an outage.
        clearTimeout(timer);
      }
      if (result instanceof AwaitChildren) return await this.awaitChildren(task, lease, result, elapsed());
      const seconds = elapsed();
      const recorded = await this.durably(lease, 'completion', () =>
        this.engine.complete(task, result ?? null, seconds),
      );
      // Cancelled while finishing: the cancellation stands.
      if (!recorded) return { discarded: true };
      this.heartbeat.taskFinished(task.id, 'succeeded', seconds);
      return result;
    } catch (error) {
      if (error instanceof WorkerShutdownError) throw error;
      throw await this.recordFailure(job, task, lease, error, elapsed());
    } finally {
      // Whatever happened, the task no longer runs here: a heartbeat listing it would keep
      // the reconciler from recovering it.
      this.heartbeat.taskReleased(task.id);
    }
  }

  /**
   * Progress is superseded by the next report and by the outcome, so a report that cannot
   * reach PostgreSQL is dropped rather than failing the attempt.
   */
  private async reportProgress(task: TaskRecord, progress: number, message?: string): Promise<void> {
    try {
      await this.engine.recordProgress(task, progress, message ?? null);
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      this.logger.warn(`Progress of task ${task.id} not recorded, PostgreSQL unreachable: ${(error as Error).message}`);
    }
  }

  /** A write of the task's state that waits out a PostgreSQL outage for as long as this process holds the task. */
  private durably<R>(lease: TaskLease, what: string, write: () => Promise<R>): Promise<R> {
    return untilWritten(write, lease.held, (error) => {
      this.logger.warn(
        `Task ${lease.taskId}: ${what} waits for PostgreSQL (${error.message}); retrying until it lands`,
      );
    });
  }

  /** A slot under the task's caps; Redis failing to answer counts as no slot, so the job is tried again later. */
  private async capSlot(slot: CapSlot): Promise<boolean> {
    try {
      return await this.caps.tryAcquire(slot);
    } catch (error) {
      this.logger.warn(`Task ${slot.taskId}: concurrency caps not checked (${errorMessage(error)}); postponed`);
      return false;
    }
  }

  /**
   * Over a cap: the job goes back to BullMQ's delayed set for a short, jittered while. BullMQ
   * does not count that as an attempt, and the job keeps its priority (its fair tag), so it
   * returns to its place in the queue.
   */
  private async postpone(job: Job<TaskJobData>): Promise<Error> {
    const delay = CAP_RETRY_MS + Math.floor(Math.random() * CAP_RETRY_JITTER_MS);
    await job.moveToDelayed(Date.now() + delay, job.token);
    return new DelayedError();
  }

  /**
   * Shutdown cut the attempt short (or came before it started): the job goes back to the
   * queue at once, not as a failed attempt, so another worker takes it without waiting for
   * the lock to expire. PostgreSQL is told too when it answers in time (status `queued`);
   * when it does not, the task stays `processing` until the next claim, which accepts that.
   */
  private async handBack(job: Job<TaskJobData>, task: TaskRecord | null): Promise<Error> {
    if (task) {
      const recorded = this.engine.requeue(task, 'its worker shut down').catch((error: unknown) => {
        this.logger.warn(`Task ${task.id} handed back while PostgreSQL was unreachable: ${errorMessage(error)}`);
      });
      if (!(await settledWithin(recorded, HAND_BACK_WRITE_MS))) {
        this.logger.warn(
          `Task ${task.id} handed back before PostgreSQL recorded it (no answer within ${HAND_BACK_WRITE_MS} ms)`,
        );
      }
    }
    await job.moveToWait(job.token);
    // Tells BullMQ the job was moved on purpose: neither completed nor failed.
    return new WaitingError();
  }

  /** Records a failed attempt and returns what to throw so BullMQ retries only what may be retried. */
  private async recordFailure(
    job: Job<TaskJobData>,
    task: TaskRecord,
    lease: TaskLease,
    error: unknown,
    seconds: number,
  ): Promise<Error> {
    const err = error instanceof Error ? error : new Error(String(error));
    if (err instanceof TaskCancelledError) return new UnrecoverableError(err.message);
    // Another worker may hold the task now: this one records nothing.
    if (err instanceof LeaseLostError) return err;
    const permanent = err instanceof PermanentTaskError || err instanceof UnrecoverableError;
    const final = permanent || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const reason = err instanceof TaskTimeoutError ? 'timeout' : permanent ? 'permanent' : 'error';
    const recorded = await this.durably(lease, 'failed attempt', () =>
      this.engine.failAttempt(task, err.message, final, reason, seconds),
    );
    if (!recorded) return new UnrecoverableError(`Task ${task.id} is no longer processing; attempt result discarded`);
    this.heartbeat.taskFinished(task.id, 'failed', seconds);
    return final && !(err instanceof UnrecoverableError) ? new UnrecoverableError(err.message) : err;
  }
}

/**
 * Settles with the handler, or rejects with the signal's reason as soon as it aborts —
 * so a timeout or cancel ends the attempt even when a handler ignores its signal.
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
