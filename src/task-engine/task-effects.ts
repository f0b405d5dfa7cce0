import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../config/app.config';
import { TaskMetricsService } from '../metrics/task-metrics.service';
import { ExternalTaskSignal } from '../queues/external-task-signal.service';
import { DispatchableTask, TaskQueueService } from '../queues/task-queue.service';
import type { TaskRecord } from '../task-types/task-record';
import type { TaskType } from '../task-types/task-types';

/** Redis calls in flight at once when a transition touches many jobs (removals, cancel broadcasts). */
const REDIS_CONCURRENCY = 32;

/**
 * What follows a committed transition outside PostgreSQL: the metrics, and the BullMQ jobs
 * (dispatched, dropped, stopped). Always after the commit, never inside it; Redis failing
 * here loses nothing — PostgreSQL already holds the state, and the reconciler re-dispatches
 * a queued task without a job (dispatch is idempotent: job id = task id).
 *
 * A task of an external type (EXTERNAL_TASK_TYPES) never gets a job: external workers lease
 * it from PostgreSQL, so "dispatching" it means waking their long polls.
 */
@Injectable()
export class TaskEffects {
  private readonly logger = new Logger(TaskEffects.name);
  private readonly externalTypes: ReadonlySet<TaskType>;

  constructor(
    private readonly queue: TaskQueueService,
    private readonly metrics: TaskMetricsService,
    private readonly signal: ExternalTaskSignal,
    config: ConfigService<AllConfig, true>,
  ) {
    this.externalTypes = new Set(config.getOrThrow('queue.externalTaskTypes', { infer: true }));
  }

  /** New tasks were stored: counted and dispatched. */
  async created(tasks: TaskRecord[]): Promise<void> {
    this.metrics.created(tasks);
    await this.dispatch(tasks);
  }

  /** Tasks went back to the queue by a retry: counted, their finished jobs dropped (they hold the job ids), dispatched again. */
  async retried(tasks: TaskRecord[]): Promise<void> {
    this.metrics.retried(tasks);
    await forEachLimited(this.withJobs(tasks), (task) =>
      this.queue.removeFinishedJob(task.taskType, task.id).catch(() => undefined),
    );
    await this.dispatch(tasks);
  }

  /** Tasks were cancelled: counted, their waiting jobs removed and running handlers told to abort. */
  async cancelled(tasks: TaskRecord[]): Promise<void> {
    this.metrics.cancelled(tasks);
    let unreached: unknown = null;
    // An external worker hears of it on its next call under the lease (409 TASK_CANCELLED).
    await forEachLimited(this.withJobs(tasks), (task) =>
      this.queue.stopTask(task.taskType, task.id).catch((error: unknown) => (unreached = error)),
    );
    // Redis is unreachable: a worker that picks a job up anyway finds its task cancelled in PostgreSQL.
    if (unreached) this.logger.warn(`Cancelled in PostgreSQL only, jobs not stopped: ${(unreached as Error).message}`);
  }

  /** A task requeued by the reconciler, whose old job may be finished: errors are the caller's (its pass stops). */
  async redispatch(task: DispatchableTask): Promise<void> {
    if (this.externalTypes.has(task.taskType)) return this.signal.notify([task.taskType]);
    await this.queue.removeFinishedJob(task.taskType, task.id);
    await this.queue.dispatch(task);
  }

  /** An external worker's attempt ended and its task went back to the queue: leasers are woken. */
  async requeued(tasks: TaskRecord[]): Promise<void> {
    await this.dispatch(tasks);
  }

  async dispatch(all: DispatchableTask[]): Promise<void> {
    const external = all.filter((task) => this.externalTypes.has(task.taskType));
    if (external.length > 0) await this.signal.notify(external.map((task) => task.taskType));
    const tasks = this.withJobs(all);
    if (tasks.length === 0) return;
    try {
      if (tasks.length === 1) await this.queue.dispatch(tasks[0]);
      else await this.queue.dispatchMany(tasks);
    } catch (error) {
      const which = tasks.length === 1 ? `Task ${tasks[0].id}` : `${tasks.length} tasks`;
      this.logger.warn(
        `${which} stored but not dispatched (${(error as Error).message}); the reconciler will dispatch them`,
      );
    }
  }

  /** The tasks that have (or had) a BullMQ job: those not of an external type. */
  private withJobs<T extends { taskType: TaskType }>(tasks: T[]): T[] {
    return this.externalTypes.size === 0 ? tasks : tasks.filter((task) => !this.externalTypes.has(task.taskType));
  }
}

async function forEachLimited(items: TaskRecord[], work: (item: TaskRecord) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(REDIS_CONCURRENCY, items.length) }, lane));
}
