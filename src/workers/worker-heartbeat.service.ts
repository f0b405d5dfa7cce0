import { hostname } from 'node:os';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { round } from '../common/utils/round';
import type { AllConfig } from '../config/app.config';
import { WorkerDirectoryService, WorkerSnapshot } from '../queues/worker-directory.service';
import { WORKER_ID } from './worker-identity';

/**
 * This process's registration as a worker: counts what it ran and heartbeats a snapshot
 * into the worker directory. The entry lives for three heartbeats, so a killed process
 * vanishes from /api/v1/stats/system within that time.
 */
@Injectable()
export class WorkerHeartbeatService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerHeartbeatService.name);
  private readonly startedAt = new Date();
  private readonly running = new Set<string>();
  private readonly heartbeatMs: number;
  readonly concurrency: number;
  private processed = 0;
  private succeeded = 0;
  private failed = 0;
  private totalSeconds = 0;
  private lastFinishedAt: Date | null = null;
  private stopping = false;
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(WORKER_ID) readonly workerId: string,
    private readonly directory: WorkerDirectoryService,
    config: ConfigService<AllConfig, true>,
  ) {
    this.heartbeatMs = config.getOrThrow('queue.heartbeatMs', { infer: true });
    this.concurrency = config.getOrThrow('queue.workerConcurrency', { infer: true });
  }

  onApplicationBootstrap(): void {
    void this.beat();
    this.timer = setInterval(() => void this.beat(), this.heartbeatMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.directory.remove(this.workerId).catch(() => undefined);
  }

  /** Workers are closing: shown as `stopping` until the process is gone. */
  markStopping(): void {
    this.stopping = true;
    void this.beat();
  }

  taskStarted(taskId: string): void {
    this.running.add(taskId);
  }

  taskFinished(taskId: string, outcome: 'succeeded' | 'failed', seconds: number): void {
    this.running.delete(taskId);
    this.processed++;
    if (outcome === 'succeeded') this.succeeded++;
    else this.failed++;
    this.totalSeconds += seconds;
    this.lastFinishedAt = new Date();
  }

  /** The task no longer runs here, however it ended (idempotent: also after taskFinished). */
  taskReleased(taskId: string): void {
    this.running.delete(taskId);
  }

  snapshot(): WorkerSnapshot {
    const current = [...this.running];
    return {
      id: this.workerId,
      status: this.stopping ? 'stopping' : current.length > 0 ? 'busy' : 'idle',
      current_task_id: current[0] ?? null,
      current_task_ids: current,
      concurrency: this.concurrency,
      tasks_processed: this.processed,
      tasks_succeeded: this.succeeded,
      tasks_failed: this.failed,
      last_heartbeat: new Date().toISOString(),
      started_at: this.startedAt.toISOString(),
      last_task_finished_at: this.lastFinishedAt?.toISOString() ?? null,
      average_task_time: this.processed === 0 ? 0 : round(this.totalSeconds / this.processed, 3),
      hostname: hostname(),
      pid: process.pid,
    };
  }

  private async beat(): Promise<void> {
    try {
      await this.directory.publish(this.snapshot(), this.heartbeatMs * 3);
    } catch (error) {
      this.logger.warn(`Heartbeat failed: ${(error as Error).message}`);
    }
  }
}
