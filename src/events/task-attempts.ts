import { TaskStatus } from '../task-types/task-types';

export const ATTEMPT_OUTCOMES = [
  'completed',
  'failed',
  'retried',
  'cancelled',
  'requeued',
  'superseded',
  'running',
] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** What attempts are derived from: a task's events, oldest first. */
export interface AttemptEvent {
  status: TaskStatus;
  attempt: number;
  error: string | null;
  workerId: string | null;
  at: Date;
}

export interface Attempt {
  attempt: number;
  outcome: AttemptOutcome;
  workerId: string | null;
  startedAt: Date;
  endedAt: Date | null;
  durationSeconds: number | null;
  error: string | null;
}

/**
 * Splits a task's history into executions. An attempt starts when the task enters
 * `processing` under a new attempt number and ends at the next status that is not
 * `processing`; a claim under a higher number while one is open means BullMQ handed the
 * job to another worker (the first one stalled).
 */
export function attemptsFrom(events: AttemptEvent[]): Attempt[] {
  const attempts: Attempt[] = [];
  let open = null as Attempt | null;
  const close = (attempt: Attempt, at: Date, outcome: AttemptOutcome, error: string | null) => {
    attempt.outcome = outcome;
    attempt.endedAt = at;
    attempt.durationSeconds = Math.round(at.getTime() - attempt.startedAt.getTime()) / 1000;
    attempt.error = error;
  };
  for (const event of events) {
    if (event.status === TaskStatus.processing) {
      if (open?.attempt === event.attempt) continue;
      if (open) close(open, event.at, 'superseded', null);
      open = {
        attempt: event.attempt,
        outcome: 'running',
        workerId: event.workerId,
        startedAt: event.at,
        endedAt: null,
        durationSeconds: null,
        error: null,
      };
      attempts.push(open);
      continue;
    }
    if (!open) continue;
    close(open, event.at, outcomeOf(event), event.error);
    open = null;
  }
  return attempts;
}

function outcomeOf(event: AttemptEvent): AttemptOutcome {
  switch (event.status) {
    case TaskStatus.completed:
      return 'completed';
    case TaskStatus.failed:
      return 'failed';
    case TaskStatus.cancelled:
      return 'cancelled';
    default:
      return event.error ? 'retried' : 'requeued';
  }
}
