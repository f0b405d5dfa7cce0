import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InvalidRequestError, ServiceUnavailableError } from '../common/errors/domain.error';
import { errorMessage } from '../common/errors/error-message';
import type { AllConfig } from '../config/app.config';
import { CapSlot, ConcurrencyCapsService } from '../queues/concurrency-caps.service';
import { ExternalTaskSignal } from '../queues/external-task-signal.service';
import { TaskQueueService } from '../queues/task-queue.service';
import type { LeaseCandidate, LeasedTask } from '../task-engine/task-lease.repository';
import { TaskStateService } from '../task-engine/task-state.service';
import type { TaskRecord } from '../task-types/task-record';
import type { TaskType } from '../task-types/task-types';
import type { LeaseRequestDto } from './dto/lease.dto';

/**
 * The safety net under the wake-up signal: a long poll re-reads PostgreSQL at least this
 * often, so a lost signal, a task whose schedule_for or backoff has come, or a task type
 * resumed after a pause is leased within about a second — without polling any faster.
 */
const RECHECK_MS = 1000;

/**
 * With concurrency caps, how many candidates a lease looks at per task it may return: tasks of
 * capped kbs are passed over for the next kb's, so a full kb cannot starve the lease.
 */
const CANDIDATES_PER_TASK = 4;

/**
 * A leased task's cap slot outlives its lease by this much: the sweeper ends an expired lease
 * (and frees its slots) within about a second, so until then the task — possibly still being
 * worked on by a late worker — keeps counting against its caps.
 */
const SLOT_MARGIN_MS = 3000;

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
  private readonly logger = new Logger(TaskLeaseService.name);
  private readonly externalTypes: ReadonlySet<TaskType>;
  private readonly waiting = new Set<() => void>();
  private stopping = false;

  constructor(
    private readonly engine: TaskStateService,
    private readonly queue: TaskQueueService,
    private readonly signal: ExternalTaskSignal,
    private readonly caps: ConcurrencyCapsService,
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
    const wanted = {
      workerId: request.worker_id,
      taskTypes,
      kbIds: kbScope,
      maxTasks: request.max_tasks,
      leaseSeconds: request.lease_seconds,
    };
    return this.caps.enabled ? this.leaseWithinCaps(wanted) : this.engine.lease(wanted);
  }

  /**
   * The lease under KB_MAX_CONCURRENCY / TASK_TYPE_MAX_CONCURRENCY: a slot in Redis first (the
   * same sets the built-in workers take theirs from), then the claim in PostgreSQL — the order
   * the built-in workers follow. A slot is held for the lease plus SLOT_MARGIN_MS and extended
   * by each heartbeat; complete, fail and the sweeper (when it ends an expired lease) free it
   * at once, and a task cancelled under its worker frees it when its lease would have ended.
   */
  private async leaseWithinCaps(wanted: Parameters<TaskStateService['lease']>[0]): Promise<LeasedTask[]> {
    const candidates = await this.engine.leaseCandidates(wanted, wanted.maxTasks * CANDIDATES_PER_TASK);
    const holdForMs = wanted.leaseSeconds * 1000 + SLOT_MARGIN_MS;
    const chosen: LeaseCandidate[] = [];
    for (const candidate of candidates) {
      if (chosen.length === wanted.maxTasks) break;
      const slot = leaseSlot({ ...candidate, attempt: candidate.attempt + 1 });
      if (await this.tryAcquire(slot, holdForMs)) chosen.push(candidate);
    }
    if (chosen.length === 0) return [];
    const leased = await this.engine.leaseChosen(chosen, wanted.workerId, wanted.leaseSeconds);
    const taken = new Set(leased.map(({ task }) => task.id));
    const missed = chosen.filter((candidate) => !taken.has(candidate.id));
    await Promise.all(missed.map((c) => this.caps.release(leaseSlot({ ...c, attempt: c.attempt + 1 }))));
    return leased;
  }

  /** The sweeper ended these leases: their slots are free now rather than when they would lapse. */
  async leasesEnded(tasks: readonly TaskRecord[]): Promise<void> {
    if (this.caps.enabled) await Promise.all(tasks.map((task) => this.caps.release(leaseSlot(task))));
  }

  /** A heartbeat; the task's cap slots are kept until the lease's new end. */
  async heartbeat(
    id: string,
    token: string,
    leaseSeconds: number | null,
    progress: number | null,
    message: string | null,
  ): Promise<LeasedTask> {
    const renewed = await this.engine.renewLease(id, token, leaseSeconds, progress, message);
    if (this.caps.enabled) {
      // The lease is renewed in PostgreSQL already; a slot that cannot be extended now only
      // lapses early, letting one more task of its kb or type start: not worth failing the heartbeat.
      await this.caps
        .extend(leaseSlot(renewed.task), Math.max(0, renewed.leaseExpiresAt.getTime() - Date.now()) + SLOT_MARGIN_MS)
        .catch((error: unknown) => {
          this.logger.warn(`Cap slot of task ${id} not extended: ${errorMessage(error)}`);
        });
    }
    return renewed;
  }

  /** A cap slot for a candidate; when Redis cannot say, nothing is leased (503), as built-in workers take nothing. */
  private async tryAcquire(slot: CapSlot, holdForMs: number): Promise<boolean> {
    try {
      return await this.caps.tryAcquire(slot, { holdForMs });
    } catch (error) {
      throw new ServiceUnavailableError('Concurrency caps cannot be checked (Redis); try again shortly', {
        component: 'redis',
        reason: errorMessage(error),
      });
    }
  }

  async complete(id: string, token: string, result: unknown): Promise<TaskRecord> {
    const task = await this.engine.completeLeased(id, token, result);
    await this.caps.release(leaseSlot(task));
    return task;
  }

  async fail(id: string, token: string, error: string, retryable: boolean): Promise<TaskRecord> {
    const task = await this.engine.failLeased(id, token, error, retryable);
    await this.caps.release(leaseSlot(task));
    return task;
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

/**
 * A lease's cap slot is keyed by task and attempt, so a late call of an earlier lease of the
 * same task (a release by the sweeper, a complete refused) never frees the slot of the next one.
 */
function leaseSlot(task: Pick<TaskRecord, 'id' | 'kbId' | 'taskType' | 'attempt'>): CapSlot {
  return { taskId: `${task.id}#${task.attempt}`, kbId: task.kbId, taskType: task.taskType };
}
