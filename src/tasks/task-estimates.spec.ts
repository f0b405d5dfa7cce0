import { TaskStatus } from '../task-types/task-types';
import { estimateCompletion, EstimateInput } from './task-estimates';

const now = new Date('2025-07-28T14:20:00Z');
const base: EstimateInput = {
  status: TaskStatus.queued,
  now,
  startedAt: null,
  completedAt: null,
  scheduleFor: null,
  progress: 0,
  queuePosition: 1,
  averageRunSeconds: 10,
  concurrency: 2,
};
const at = (seconds: number) => new Date(now.getTime() + seconds * 1000).toISOString();

describe('estimateCompletion', () => {
  it('gives a finished task its completion time', () => {
    const completedAt = new Date('2025-07-28T14:21:00Z');
    expect(estimateCompletion({ ...base, status: TaskStatus.completed, completedAt })).toEqual(completedAt);
  });

  it('counts waves of concurrency ahead of a waiting task', () => {
    expect(estimateCompletion({ ...base, queuePosition: 1 })?.toISOString()).toBe(at(10));
    expect(estimateCompletion({ ...base, queuePosition: 2 })?.toISOString()).toBe(at(10));
    expect(estimateCompletion({ ...base, queuePosition: 3 })?.toISOString()).toBe(at(20));
    expect(estimateCompletion({ ...base, queuePosition: 7 })?.toISOString()).toBe(at(40));
  });

  it('starts a scheduled task no earlier than its schedule', () => {
    const scheduleFor = new Date(now.getTime() + 60_000);
    expect(estimateCompletion({ ...base, scheduleFor, queuePosition: null })?.toISOString()).toBe(at(70));
  });

  it('extrapolates a running task from its progress', () => {
    const startedAt = new Date(now.getTime() - 30_000);
    const eta = estimateCompletion({
      ...base,
      status: TaskStatus.processing,
      startedAt,
      progress: 25,
      queuePosition: null,
    });
    expect(eta?.toISOString()).toBe(at(90));
  });

  it('uses the average for a running task that has not reported progress', () => {
    const startedAt = new Date(now.getTime() - 4_000);
    const eta = estimateCompletion({ ...base, status: TaskStatus.processing, startedAt, queuePosition: null });
    expect(eta?.toISOString()).toBe(at(6));
  });

  it('never predicts the past for an overrunning task', () => {
    const startedAt = new Date(now.getTime() - 60_000);
    const eta = estimateCompletion({ ...base, status: TaskStatus.processing, startedAt, queuePosition: null });
    expect(eta?.toISOString()).toBe(now.toISOString());
  });

  it('has no basis without history or without workers', () => {
    expect(estimateCompletion({ ...base, averageRunSeconds: null })).toBeNull();
    expect(estimateCompletion({ ...base, concurrency: 0 })).toBeNull();
  });
});
