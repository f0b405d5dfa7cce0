import { TaskStatus } from '../task-types/task-types';
import { AttemptEvent, attemptsFrom } from './task-attempts';

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));
const event = (
  status: TaskStatus,
  attempt: number,
  seconds: number,
  extra: Partial<AttemptEvent> = {},
): AttemptEvent => ({
  status,
  attempt,
  error: null,
  workerId: 'w1',
  at: at(seconds),
  ...extra,
});

describe('attemptsFrom', () => {
  it('gives each execution its outcome, duration and error', () => {
    const attempts = attemptsFrom([
      event(TaskStatus.queued, 0, 0, { workerId: null }),
      event(TaskStatus.processing, 1, 1),
      event(TaskStatus.processing, 1, 2),
      event(TaskStatus.queued, 1, 3, { error: 'Task timed out after 2s' }),
      event(TaskStatus.processing, 2, 5, { workerId: 'w2' }),
      event(TaskStatus.failed, 2, 9, { error: 'boom' }),
    ]);
    expect(attempts).toEqual([
      {
        attempt: 1,
        outcome: 'retried',
        workerId: 'w1',
        startedAt: at(1),
        endedAt: at(3),
        durationSeconds: 2,
        error: 'Task timed out after 2s',
      },
      {
        attempt: 2,
        outcome: 'failed',
        workerId: 'w2',
        startedAt: at(5),
        endedAt: at(9),
        durationSeconds: 4,
        error: 'boom',
      },
    ]);
  });

  it('tells a lost worker (requeued, superseded) from a failure and leaves a running attempt open', () => {
    const attempts = attemptsFrom([
      event(TaskStatus.processing, 1, 0),
      event(TaskStatus.processing, 2, 4, { workerId: 'w2' }),
      event(TaskStatus.queued, 2, 6),
      event(TaskStatus.processing, 3, 7, { workerId: 'w3' }),
    ]);
    expect(attempts.map((a) => [a.attempt, a.outcome, a.durationSeconds])).toEqual([
      [1, 'superseded', 4],
      [2, 'requeued', 2],
      [3, 'running', null],
    ]);
  });

  it('ends an attempt that is cancelled, and ignores state changes outside attempts', () => {
    const attempts = attemptsFrom([
      event(TaskStatus.queued, 0, 0),
      event(TaskStatus.cancelled, 0, 1),
      event(TaskStatus.queued, 0, 2),
      event(TaskStatus.processing, 1, 3),
      event(TaskStatus.cancelled, 1, 4),
    ]);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ attempt: 1, outcome: 'cancelled', durationSeconds: 1 });
  });
});
