import { DomainError } from '../common/errors/domain.error';
import { ErrorCode } from '../common/errors/error-codes';
import { TaskStatus } from '../task-types/task-types';

/**
 * Every way a task's status may move, and from where. The repositories' guarded UPDATEs
 * take their `WHERE status …` from here, so a transition the table does not allow cannot
 * be written, whoever asks; the engine checks the same table first to answer the API with
 * the contract's error instead of a silent no-op.
 */
export const TRANSITIONS = {
  /** A worker starts an attempt; `processing` too: a task whose previous worker died mid-run. */
  claim: { from: [TaskStatus.queued, TaskStatus.processing], to: TaskStatus.processing },
  /** An external worker leases a due task over REST (EXTERNAL_TASK_TYPES); only a queued one, never one a worker runs. */
  lease: { from: [TaskStatus.queued], to: TaskStatus.processing },
  /** An external worker's heartbeat extends its lease. */
  renewLease: { from: [TaskStatus.processing], to: TaskStatus.processing },
  /** A running task reports progress (a worker, the API, or a parent's children). */
  progress: { from: [TaskStatus.processing], to: TaskStatus.processing },
  /** A parent's own step is done; it stays processing while its children run. */
  awaitChildren: { from: [TaskStatus.processing], to: TaskStatus.processing },
  complete: { from: [TaskStatus.processing], to: TaskStatus.completed },
  /** A failed attempt that BullMQ will retry (an external worker's: that expired or failed retryably). */
  retryAttempt: { from: [TaskStatus.processing], to: TaskStatus.queued },
  /** The final failed attempt, or a job BullMQ gave up on outside its handler. */
  fail: { from: [TaskStatus.processing], to: TaskStatus.failed },
  /** Its worker is gone or shutting down: back to the queue, not a failed attempt. */
  requeue: { from: [TaskStatus.processing], to: TaskStatus.queued },
  cancel: { from: [TaskStatus.queued, TaskStatus.processing], to: TaskStatus.cancelled },
  /** An explicit retry (API, bulk, or a parent re-run): a fresh start, the retry counted. */
  retry: { from: [TaskStatus.failed, TaskStatus.cancelled], to: TaskStatus.queued },
  /** A parent ends once its children have: completed, or the outcome of a failed stage. */
  finishParent: { from: [TaskStatus.processing], to: [TaskStatus.completed, TaskStatus.failed, TaskStatus.cancelled] },
} as const satisfies Record<string, { from: readonly TaskStatus[]; to: TaskStatus | readonly TaskStatus[] }>;

export type Transition = keyof typeof TRANSITIONS;

export function allows(transition: Transition, from: TaskStatus): boolean {
  return (TRANSITIONS[transition].from as readonly TaskStatus[]).includes(from);
}

/** The statuses a transition starts from, as a SQL list for a guarded UPDATE: `'queued', 'processing'`. */
export function sqlFrom(transition: Transition): string {
  return TRANSITIONS[transition].from.map((status) => `'${status}'`).join(', ');
}

/** Transitions the API asks for, with the contract's error when the task's status forbids them. */
const REFUSALS = {
  cancel: {
    code: ErrorCode.TaskNotCancelable,
    message: (status: TaskStatus) => `Task is ${status} and can no longer be canceled`,
  },
  retry: {
    code: ErrorCode.TaskNotRetryable,
    message: (status: TaskStatus) => `Only failed or cancelled tasks can be retried; task is ${status}`,
  },
  progress: {
    code: ErrorCode.TaskNotProcessing,
    message: (status: TaskStatus) => `Progress can only be reported for a processing task; task is ${status}`,
  },
} as const;

/** The contract's error (409) for a transition the API asked for and `task`'s status forbids. */
export function refusal(transition: keyof typeof REFUSALS, task: { id: string; status: TaskStatus }): DomainError {
  const { code, message } = REFUSALS[transition];
  return new DomainError(code, message(task.status), { task_id: task.id, status: task.status });
}

/** Throws refusal() when `task` may not take `transition`. */
export function assertAllowed(transition: keyof typeof REFUSALS, task: { id: string; status: TaskStatus }): void {
  if (!allows(transition, task.status)) throw refusal(transition, task);
}
