import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  BeforeApplicationShutdown,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Job, Worker } from 'bullmq';
import { errorMessage } from '../common/errors/error-message';
import { WorkerShutdownError } from '../common/errors/task-errors';
import { settledWithin } from '../common/utils/settled-within';
import type { AllConfig } from '../config/app.config';
import { TASK_TYPES, TaskJobData } from '../task-types/task-types';
import { TaskCancellationService } from './task-cancellation.service';
import { TaskLifecycleService } from './task-lifecycle';
import { TASK_PROCESSOR_HOSTS, type TaskProcessorHosts, workerPerType } from './task-processor';
import { WorkerHeartbeatService } from './worker-heartbeat.service';

/**
 * What a shutdown may take beyond the grace period: handing the interrupted tasks back
 * (bounded PostgreSQL and Redis writes) and closing connections.
 */
const SHUTDOWN_EPSILON_MS = 2000;

/**
 * Starts the BullMQ worker of each task type's processor (from the handler registry) once
 * their settings are known. Processors are declared with `autorun: false` because decorator
 * options are static, while concurrency, lock and stall timings come from the validated
 * environment. Refuses to boot if a task type has no processor, and on shutdown stops
 * taking work and lets running tasks finish.
 */
@Injectable()
export class WorkerBootstrapService
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger(WorkerBootstrapService.name);
  private workers: Worker[] = [];

  constructor(
    private readonly config: ConfigService<AllConfig, true>,
    private readonly lifecycle: TaskLifecycleService,
    private readonly heartbeat: WorkerHeartbeatService,
    private readonly cancellation: TaskCancellationService,
    @Inject(TASK_PROCESSOR_HOSTS) private readonly processors: TaskProcessorHosts,
  ) {}

  onApplicationBootstrap(): void {
    const workers = workerPerType(this.processors);
    const queue = this.config.getOrThrow('queue', { infer: true });
    const external = new Set(queue.externalTaskTypes);
    for (const type of TASK_TYPES) {
      const worker = workers[type];
      // External workers lease these over REST: never run in this process (their tasks get no job either).
      if (external.has(type)) continue;
      worker.concurrency = queue.workerConcurrency;
      Object.assign(worker.opts, {
        lockDuration: queue.lockDurationMs,
        lockRenewTime: queue.lockDurationMs / 2,
        stalledInterval: queue.stalledIntervalMs,
      });
      // The lock manager copied the lock timings when the worker was built; rebuild it with
      // ours (safe before run(), which is what starts it).
      (worker as unknown as { createLockManager(): void }).createLockManager();
      worker.on(
        'failed',
        (job: Job<TaskJobData> | undefined, error: Error) => void this.lifecycle.onJobFailedOutsideHandler(job, error),
      );
      worker.on('error', (error) => {
        this.logger.warn(`Worker ${type}: ${error.message}`);
      });
      // The job's lock is no longer ours (job id = task id): stop running and writing for it.
      worker.on('lockRenewalFailed', (jobIds: string[]) => {
        jobIds.forEach((id) => {
          this.cancellation.lockLost(id);
        });
      });
      void worker.run().catch((error: unknown) => {
        this.logger.error(`Worker ${type} stopped: ${errorMessage(error)}`);
      });
    }
    this.workers = Object.values(workers);
    this.logger.log(
      `Workers started as ${this.heartbeat.workerId} (concurrency ${queue.workerConcurrency}` +
        (external.size > 0 ? `; left to external workers: ${[...external].join(', ')})` : ')'),
    );
  }

  /**
   * SIGTERM: stop fetching new jobs and give running ones the grace period to finish; jobs
   * fetched but not started go back at once. Whatever still runs afterwards is aborted and
   * handed back to the queue (status queued, job moved back), so another worker picks it up
   * without waiting for a lock to expire. The whole shutdown, every later hook included,
   * ends within the grace period plus SHUTDOWN_EPSILON_MS.
   */
  async beforeApplicationShutdown(signal?: string): Promise<void> {
    const graceMs = this.config.getOrThrow('queue.shutdownGraceMs', { infer: true });
    // Only for a signal: app.close() in a test or an embedding process must not end the process.
    if (signal) this.exitAfter(graceMs + SHUTDOWN_EPSILON_MS);
    this.cancellation.stopAccepting();
    this.heartbeat.markStopping();
    const closing = Promise.all(this.workers.map((worker) => worker.close()));
    if (await settledWithin(closing, graceMs)) return;
    const aborted = this.cancellation.abortAll(new WorkerShutdownError());
    this.logger.warn(`${aborted} task(s) still running after the ${graceMs} ms grace period; they return to the queue`);
    await closing;
  }

  onApplicationShutdown(): void {
    this.logger.log('Workers stopped');
  }

  /**
   * The last resort behind the bounded steps (hand-back writes, pool close): a hook that
   * still waits — Redis unreachable while connections close, a webhook delivery holding its
   * worker — does not keep the process past its deadline, where an orchestrator would
   * SIGKILL it without a word. Unreferenced, so it never delays a shutdown that finishes.
   */
  private exitAfter(ms: number): void {
    setTimeout(() => {
      this.logger.error(`Shutdown still not finished ${ms} ms after the signal; exiting now`);
      process.exit(1);
    }, ms).unref();
  }
}
