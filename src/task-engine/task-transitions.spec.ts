import { DomainError } from '../common/errors/domain.error';
import { ErrorCode } from '../common/errors/error-codes';
import { TASK_STATUSES, TaskStatus, TERMINAL_STATUSES } from '../task-types/task-types';
import { allows, assertAllowed, sqlFrom, TRANSITIONS } from './task-transitions';

describe('task transitions', () => {
  it('cancel reaches exactly the statuses that are not terminal', () => {
    expect(TASK_STATUSES.filter((s) => allows('cancel', s))).toEqual(
      TASK_STATUSES.filter((s) => !TERMINAL_STATUSES.includes(s)),
    );
  });

  it('retry starts only from failed or cancelled, and a worker claims only queued or orphaned processing tasks', () => {
    expect(TASK_STATUSES.filter((s) => allows('retry', s))).toEqual([TaskStatus.failed, TaskStatus.cancelled]);
    expect(TASK_STATUSES.filter((s) => allows('claim', s))).toEqual([TaskStatus.queued, TaskStatus.processing]);
  });

  it('an external worker leases only a queued task (never one a worker holds) and renews only a processing one', () => {
    expect(TASK_STATUSES.filter((s) => allows('lease', s))).toEqual([TaskStatus.queued]);
    expect(TASK_STATUSES.filter((s) => allows('renewLease', s))).toEqual([TaskStatus.processing]);
  });

  it('lets nothing leave completed: a finished task is only ever read', () => {
    const leaving = Object.entries(TRANSITIONS).filter(([, t]) =>
      (t.from as readonly TaskStatus[]).includes(TaskStatus.completed),
    );
    expect(leaving).toEqual([]);
  });

  it('every worker outcome starts from processing', () => {
    for (const transition of [
      'complete',
      'retryAttempt',
      'fail',
      'requeue',
      'awaitChildren',
      'progress',
      'finishParent',
    ] as const) {
      expect(TRANSITIONS[transition].from).toEqual([TaskStatus.processing]);
    }
  });

  it('answers a refused API transition with the contract error code and the task status', () => {
    const refused = (transition: 'cancel' | 'retry' | 'progress', status: TaskStatus) => {
      try {
        assertAllowed(transition, { id: 't1', status });
      } catch (error) {
        return error as DomainError;
      }
      return null;
    };
    expect(refused('cancel', TaskStatus.completed)).toMatchObject({
      code: ErrorCode.TaskNotCancelable,
      details: { task_id: 't1', status: 'completed' },
    });
    expect(refused('retry', TaskStatus.processing)).toMatchObject({
      code: ErrorCode.TaskNotRetryable,
      details: { status: 'processing' },
    });
    expect(refused('progress', TaskStatus.queued)).toMatchObject({ code: ErrorCode.TaskNotProcessing });
    expect(refused('cancel', TaskStatus.queued)).toBeNull();
  });

  it('writes the guard of a conditional UPDATE from the table', () => {
    expect(sqlFrom('claim')).toBe("'queued', 'processing'");
    expect(sqlFrom('complete')).toBe("'processing'");
  });
});
