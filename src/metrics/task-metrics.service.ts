import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Histogram } from 'prom-client';
import { TASK_PRIORITIES, TASK_TYPES, TaskStatus } from '../task-types/task-types';
import type { TaskPriority, TaskType } from '../task-types/task-types';
import { ATTEMPT_FAILURE_REASONS, AttemptFailureReason, DURATION_STATUSES, METRIC } from './metrics';
import { TaskCountsRepository } from './task-counts.repository';

interface TaskLabels {
  taskType: TaskType;
  priority: TaskPriority;
}
/** What the queue wait is measured from: the claim's start against when the task became due. */
type StartedTask = TaskLabels & { attempt: number; createdAt: Date; scheduleFor: Date | null; startedAt: Date | null };
/** A parent whose children settled: it ended without an attempt of its own ending. */
type EndedTask = TaskLabels & { status: TaskStatus; startedAt: Date | null; completedAt: Date | null };

const IN_FLIGHT: readonly TaskStatus[] = [TaskStatus.queued, TaskStatus.processing];
/**
 * How long start-up waits for the opening balance before going on without it. Generous: the
 * first query of a process (Prisma loading its query compiler) can take seconds on a busy
 * machine, and without the balance the identity is off for good. PostgreSQL down fails fast
 * (refused) or after the pool's 5 s connect timeout, so this bounds only a hung server.
 */
const BALANCE_TIMEOUT_MS = 30_000;

/**
 * The lifecycle's window onto the task metrics: each method is one lifecycle event, called
 * once its transition has committed (and only when it changed the task), so handlers never
 * touch metrics themselves. What the counters mean, per task type, in this process:
 *
 * - created: a task entered the system here (an API create, single or batch, or a child a
 *   parent started); idempotent replays are not new tasks.
 * - resumed: tasks already queued or processing in PostgreSQL when this process started.
 * - retried: a failed or cancelled task went back to the queue (it is in flight again; its
 *   earlier end stays counted once, and its next end is counted again).
 * - completed / failed / cancelled: a task reached that end state. Automatic retries of
 *   attempts are not ends: they count in task_attempts_failed_total only.
 *
 * So, per task type: created + resumed + retried = completed + failed + cancelled + in flight,
 * in flight being task_manager_tasks{status="queued"|"processing"}. It holds exactly for a
 * process that is the only one changing tasks (the default `npm start`); with API and worker
 * processes apart, each counts what it does, and the sums over processes of the counters'
 * increases match the change of the in-flight gauge.
 */
@Injectable()
export class TaskMetricsService implements OnModuleInit {
  private readonly logger = new Logger(TaskMetricsService.name);

  constructor(
    @InjectMetric(METRIC.tasksCreated) private readonly createdTotal: Counter,
    @InjectMetric(METRIC.tasksResumed) private readonly resumedTotal: Counter,
    @InjectMetric(METRIC.tasksRetried) private readonly retriedTotal: Counter,
    @InjectMetric(METRIC.tasksCompleted) private readonly completedTotal: Counter,
    @InjectMetric(METRIC.tasksFailed) private readonly failedTotal: Counter,
    @InjectMetric(METRIC.tasksCancelled) private readonly cancelledTotal: Counter,
    @InjectMetric(METRIC.taskAttemptsFailed) private readonly attemptsFailed: Counter,
    @InjectMetric(METRIC.taskDuration) private readonly duration: Histogram,
    @InjectMetric(METRIC.taskQueueWait) private readonly queueWait: Histogram,
    private readonly counts: TaskCountsRepository,
  ) {}

  /** Every series at 0 before the first event, then the opening balance. */
  async onModuleInit(): Promise<void> {
    for (const task_type of TASK_TYPES) {
      for (const status of DURATION_STATUSES) this.duration.zero({ task_type, status });
      for (const priority of TASK_PRIORITIES) {
        const labels = { task_type, priority };
        for (const counter of [
          this.createdTotal,
          this.resumedTotal,
          this.retriedTotal,
          this.completedTotal,
          this.failedTotal,
          this.cancelledTotal,
        ]) {
          counter.inc(labels, 0);
        }
        for (const reason of ATTEMPT_FAILURE_REASONS) this.attemptsFailed.inc({ ...labels, reason }, 0);
        this.queueWait.zero(labels);
      }
    }
    await this.countOpeningBalance();
  }

  created(tasks: readonly TaskLabels[]): void {
    for (const task of tasks) this.createdTotal.inc(labelsOf(task));
  }

  retried(tasks: readonly TaskLabels[]): void {
    for (const task of tasks) this.retriedTotal.inc(labelsOf(task));
  }

  cancelled(tasks: readonly TaskLabels[]): void {
    for (const task of tasks) this.cancelledTotal.inc(labelsOf(task));
  }

  /** A worker claimed the task. Only a first attempt has a queue wait: later ones waited for a backoff or a retry, not for a worker. */
  started(task: StartedTask): void {
    if (task.attempt !== 1 || !task.startedAt) return;
    const due = task.scheduleFor && task.scheduleFor > task.createdAt ? task.scheduleFor : task.createdAt;
    this.queueWait.observe(labelsOf(task), Math.max(0, (task.startedAt.getTime() - due.getTime()) / 1000));
  }

  completed(task: TaskLabels, seconds: number): void {
    this.completedTotal.inc(labelsOf(task));
    this.duration.observe({ task_type: task.taskType, status: 'completed' }, seconds);
  }

  /** An attempt failed; `final` when the task ended failed with it (otherwise BullMQ retries it). */
  attemptFailed(task: TaskLabels, seconds: number | null, reason: AttemptFailureReason, final: boolean): void {
    this.attemptsFailed.inc({ ...labelsOf(task), reason });
    if (seconds !== null) this.duration.observe({ task_type: task.taskType, status: 'failed' }, seconds);
    if (final) this.failedTotal.inc(labelsOf(task));
  }

  /** A parent ended when its children settled: counted by its end state, timed from its start. */
  parentEnded(task: EndedTask): void {
    const labels = labelsOf(task);
    if (task.status === TaskStatus.cancelled) {
      this.cancelledTotal.inc(labels);
      return;
    }
    if (task.status !== TaskStatus.completed && task.status !== TaskStatus.failed) return;
    (task.status === TaskStatus.completed ? this.completedTotal : this.failedTotal).inc(labels);
    if (task.startedAt && task.completedAt) {
      this.duration.observe(
        { task_type: task.taskType, status: task.status },
        Math.max(0, (task.completedAt.getTime() - task.startedAt.getTime()) / 1000),
      );
    }
  }

  /**
   * Tasks left in flight by an earlier run (or another process) end here too; counting them
   * as resumed keeps the identity. Read before the workers and the reconciler start.
   */
  private async countOpeningBalance(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const rows = await Promise.race([
        this.counts.countByKey(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            reject(new Error(`no answer within ${BALANCE_TIMEOUT_MS} ms`));
          }, BALANCE_TIMEOUT_MS);
        }),
      ]);
      for (const row of rows) if (IN_FLIGHT.includes(row.status)) this.resumedTotal.inc(labelsOf(row), row.count);
    } catch (error) {
      this.logger.warn(
        `Tasks in flight at start-up not counted (PostgreSQL: ${(error as Error).message}); created + resumed + retried will fall short of the ends by them`,
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

function labelsOf(task: TaskLabels): { task_type: TaskType; priority: TaskPriority } {
  return { task_type: task.taskType, priority: task.priority };
}
