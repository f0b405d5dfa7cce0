import { DomainError, TaskNotFoundError } from '../common/errors/domain.error';
import { ErrorCode } from '../common/errors/error-codes';
import { TaskStatus } from '../task-types/task-types';
import type { LeaseState } from './task-lease.repository';

/** Whether `token` is the task's lease and that lease still runs. */
export function holdsLease(state: LeaseState, token: string): boolean {
  return state.status === TaskStatus.processing && state.leaseToken === token && state.leaseRunning;
}

/** What a refused call under a lease on a task that has ended says (the API documents it as TASK_NOT_PROCESSING's example). */
export function leaseEndedMessage(status: TaskStatus): string {
  return `This lease has ended: the task is ${status}`;
}

/**
 * Why a call under lease `token` changed nothing, as the 409 an external worker acts on:
 * TASK_CANCELLED (stop: the task was cancelled), TASK_NOT_PROCESSING (it already completed or
 * failed), LEASE_LOST (another lease or a retry replaced this one: someone else owns the task),
 * LEASE_EXPIRED (this lease ran out: the task was requeued, or is about to be). How the task
 * ended comes first, whatever the token: it is what the worker must hear.
 */
export function leaseRefusal(id: string, token: string, state: LeaseState | null): DomainError {
  if (!state) return new TaskNotFoundError(id);
  const details = { task_id: id, status: state.status };
  if (state.status === TaskStatus.cancelled)
    return new DomainError(ErrorCode.TaskCancelled, 'Task was cancelled; stop working on it', details);
  if (state.status !== TaskStatus.processing && state.status !== TaskStatus.queued)
    return new DomainError(ErrorCode.TaskNotProcessing, leaseEndedMessage(state.status), details);
  if (state.leaseToken !== token)
    return new DomainError(
      ErrorCode.LeaseLost,
      'This lease is no longer the task’s: it was leased again or retried since',
      details,
    );
  return new DomainError(
    ErrorCode.LeaseExpired,
    'The lease expired before this call; the task went back to the queue',
    details,
  );
}
