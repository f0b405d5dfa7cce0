import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InvalidRequestError } from '../common/errors/domain.error';
import type { AllConfig } from '../config/app.config';
import { ExternalTaskSignal } from '../queues/external-task-signal.service';
import { TaskQueueService } from '../queues/task-queue.service';
import type { LeasedTask } from '../task-engine/task-lease.repository';
import { TaskStateService } from '../task-engine/task-state.service';
import type { TaskType } from '../task-types/task-types';
import type { LeaseRequestDto } from './dto/lease.dto';

/**
 * The safety net under the wake-up signal: a long poll re-reads PostgreSQL at least this
 * often, so a lost signal, a task whose schedule_for or backoff has come, or a task type
 * resumed after a pause is leased within about a second — without polling any faster.
 */
const RECHECK_MS = 1000;

/**
 * `POST /workers/lease`: leases due tasks of external types to a worker, waiting up to
 * wait_seconds for one when none is due. A wait ends early when a task of a requested type
 * is queued anywhere (ExternalTaskSignal), when the client goes away, or at shutdown.
 * What may be leased — priority, schedule, kb round-robin, the caller's kbs — is the task
 * engine's; this class adds only what lives outside PostgreSQL: which types are external and
 * which are paused (the same Redis flag that pauses built-in workers).
 */
@Injectable()
export class TaskLeaseService implements BeforeApplicationShutdown {
  private readonly externalTypes: ReadonlySet<TaskType>;
  private readonly waiting = new Set<() => void>();
  private stopping = false;

  constructor(
    private readonly engine: TaskStateService,
    private readonly queue: TaskQueueService,
    private readonly signal: ExternalTaskSignal,
    config: ConfigService<AllConfig, true>,
  ) {
    this.externalTypes = new Set(config.getOrThrow('queue.externalTaskTypes', { infer: true }));
  }

  async lease(
    request: LeaseRequestDto,
    kbScope: readonly string[] | null,
    aborted: AbortSignal,
  ): Promise<LeasedTask[]> {
    this.assertExternal(request.task_types);
    const deadline = Date.now() + request.wait_seconds * 1000;
    const wanted = new Set(request.task_types);
    for (;;) {
      // A client that left gets nothing: a task leased to it would wait out its lease.
      if (aborted.aborted) return [];
      const leased = await this.leaseDue(request, kbScope);
      const left = deadline - Date.now();
      if (leased.length > 0 || left <= 0 || this.stopping) return leased;
      await this.nextChance(wanted, Math.min(RECHECK_MS, left), aborted);
    }
  }

  /** Long polls answer at once (with what they have) before the HTTP server closes, which would wait for them. */
  beforeApplicationShutdown(): void {
    this.stopping = true;
    for (const wake of this.waiting) wake();
  }

  private async leaseDue(request: LeaseRequestDto, kbScope: readonly string[] | null): Promise<LeasedTask[]> {
    const paused = await Promise.all(request.task_types.map((type) => this.queue.isPaused(type)));
    const taskTypes = request.task_types.filter((_, i) => !paused[i]);
    if (taskTypes.length === 0) return [];
    return this.engine.lease({
      workerId: request.worker_id,
      taskTypes,
      kbIds: kbScope,
      maxTasks: request.max_tasks,
      leaseSeconds: request.lease_seconds,
    });
  }

  /** Resolves when a task of `wanted` is signalled, after `ms`, when the client leaves, or at shutdown. */
  private nextChance(wanted: ReadonlySet<TaskType>, ms: number, aborted: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        unlisten();
        aborted.removeEventListener('abort', wake);
        this.waiting.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      const unlisten = this.signal.listen((type) => {
        if (wanted.has(type)) wake();
      });
      aborted.addEventListener('abort', wake, { once: true });
      this.waiting.add(wake);
    });
  }

  /** Leasing a built-in type would take tasks that also have a BullMQ job: refused. */
  private assertExternal(taskTypes: readonly TaskType[]): void {
    const builtIn = taskTypes.filter((type) => !this.externalTypes.has(type));
    if (builtIn.length === 0) return;
    const external = [...this.externalTypes];
    throw new InvalidRequestError('Invalid field: task_types', {
      fields: {
        task_types: [
          `${builtIn.join(', ')} ${builtIn.length === 1 ? 'is' : 'are'} run by the built-in workers; ` +
            `external workers may lease ${external.length > 0 ? external.join(', ') : 'no task type (EXTERNAL_TASK_TYPES is empty)'}`,
        ],
      },
    });
  }
}
