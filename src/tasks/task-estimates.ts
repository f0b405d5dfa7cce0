import { TaskStatus } from '../task-types/task-types';

export interface EstimateInput {
  status: TaskStatus;
  now: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  scheduleFor: Date | null;
  progress: number;
  /** 1-based place among due waiting tasks; null when not waiting or not yet due. */
  queuePosition: number | null;
  /** Recent mean run time of this task type in seconds; null when nothing has finished yet. */
  averageRunSeconds: number | null;
  /** Tasks the live workers can run at once; 0 when no worker is alive. */
  concurrency: number;
}

/**
 * When a task should finish, from what is known now. A running task extrapolates its own
 * progress (or the type's average before it reports any); a waiting one counts the waves
 * of `concurrency` tasks ahead of it. Null when there is no basis for a figure.
 */
export function estimateCompletion(input: EstimateInput): Date | null {
  const { status, now, averageRunSeconds: avg } = input;
  if (status === TaskStatus.completed || status === TaskStatus.failed || status === TaskStatus.cancelled) {
    return input.completedAt;
  }
  if (status === TaskStatus.processing) {
    const started = input.startedAt ?? now;
    let finish: number | null = null;
    if (input.progress > 0) {
      const elapsed = now.getTime() - started.getTime();
      finish = started.getTime() + (elapsed * 100) / input.progress;
    } else if (avg !== null) {
      finish = started.getTime() + avg * 1000;
    }
    return finish === null ? null : new Date(Math.max(finish, now.getTime()));
  }
  if (avg === null || input.concurrency <= 0) return null;
  const start = Math.max(now.getTime(), input.scheduleFor?.getTime() ?? 0);
  const ahead = Math.max(0, (input.queuePosition ?? 1) - 1);
  const waves = Math.floor(ahead / input.concurrency) + 1;
  return new Date(start + waves * avg * 1000);
}
