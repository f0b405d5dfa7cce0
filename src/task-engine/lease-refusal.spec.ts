import { ErrorCode } from '../common/errors/error-codes';
import { TaskStatus } from '../task-types/task-types';
import { holdsLease, leaseRefusal } from './lease-refusal';

const ID = '550e8400-e29b-41d4-a716-446655440000';
const MINE = '9b2f4c7e-1d3a-4f5b-8c6d-7e8f9a0b1c2d';
const OTHER = '1c2d9b2f-4c7e-4f5b-8c6d-7e8f9a0b1c2d';

describe('leaseRefusal', () => {
  const code = (status: TaskStatus, leaseToken: string | null, leaseRunning = false) =>
    leaseRefusal(ID, MINE, { status, leaseToken, leaseRunning }).code;

  it('says cancelled first, whoever holds the lease', () => {
    expect(code(TaskStatus.cancelled, MINE)).toBe(ErrorCode.TaskCancelled);
    expect(code(TaskStatus.cancelled, OTHER)).toBe(ErrorCode.TaskCancelled);
  });

  it('says the lease was lost when another lease (or a retry, which clears it) replaced it', () => {
    expect(code(TaskStatus.processing, OTHER, true)).toBe(ErrorCode.LeaseLost);
    expect(code(TaskStatus.queued, null)).toBe(ErrorCode.LeaseLost);
  });

  it('says the lease expired while the task waits for (or is waiting to be) requeued under the same token', () => {
    expect(code(TaskStatus.processing, MINE)).toBe(ErrorCode.LeaseExpired);
    expect(code(TaskStatus.queued, MINE)).toBe(ErrorCode.LeaseExpired);
  });

  it('says the task is no longer processing once it completed or failed, whichever lease ended it', () => {
    expect(code(TaskStatus.completed, MINE)).toBe(ErrorCode.TaskNotProcessing);
    expect(code(TaskStatus.failed, MINE)).toBe(ErrorCode.TaskNotProcessing);
    expect(code(TaskStatus.completed, OTHER)).toBe(ErrorCode.TaskNotProcessing);
  });

  it('answers an unknown task with TASK_NOT_FOUND and carries the task and its status', () => {
    expect(leaseRefusal(ID, MINE, null).code).toBe(ErrorCode.TaskNotFound);
    expect(
      leaseRefusal(ID, MINE, { status: TaskStatus.queued, leaseToken: MINE, leaseRunning: false }).details,
    ).toEqual({
      task_id: ID,
      status: TaskStatus.queued,
    });
  });

  it('holds a lease only while it is the running, unexpired one', () => {
    expect(holdsLease({ status: TaskStatus.processing, leaseToken: MINE, leaseRunning: true }, MINE)).toBe(true);
    expect(holdsLease({ status: TaskStatus.processing, leaseToken: MINE, leaseRunning: false }, MINE)).toBe(false);
    expect(holdsLease({ status: TaskStatus.processing, leaseToken: OTHER, leaseRunning: true }, MINE)).toBe(false);
  });
});
