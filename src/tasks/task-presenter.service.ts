import { Injectable } from '@nestjs/common';
import { TaskQueueService } from '../queues/task-queue.service';
import { WorkerDirectoryService } from '../queues/worker-directory.service';
import { TaskQueryRepository } from '../task-engine/task-query.repository';
import type { TaskRecord } from '../task-types/task-record';
import { TaskStatus, TaskType } from '../task-types/task-types';
import { TaskResponseDto } from './dto/task-response.dto';
import { estimateCompletion } from './task-estimates';
import { toResponse } from './task-response.mapper';

const AVERAGE_SAMPLE = 100;
const CACHE_MS = 2000;

interface Cached<T> {
  value?: T;
  loaded: boolean;
  at: number;
  /** The one load under way, if any; callers meanwhile get `value` once there is one. */
  loading?: Promise<T>;
}

/**
 * Turns stored tasks into API responses — the only place a row becomes JSON — adding the
 * live figures: queue position and estimated completion. The inputs to those (recent run
 * times per type, live worker concurrency) are cached for two seconds and refreshed in the
 * background, so a burst of requests costs one query and none of them waits for it.
 */
@Injectable()
export class TaskPresenterService {
  private readonly averages = new Map<TaskType | 'all', Cached<number | null>>();
  private readonly concurrency = new Map<'live', Cached<number>>();

  constructor(
    private readonly tasks: TaskQueryRepository,
    private readonly workers: WorkerDirectoryService,
    private readonly queue: TaskQueueService,
  ) {}

  async present(task: TaskRecord): Promise<TaskResponseDto> {
    return (await this.presentMany([task]))[0];
  }

  async presentMany(tasks: TaskRecord[]): Promise<TaskResponseDto[]> {
    const now = new Date();
    const due = tasks.filter((t) => t.status === TaskStatus.queued && (!t.scheduleFor || t.scheduleFor <= now));
    const waitingOrRunning = tasks.some((t) => t.status === TaskStatus.queued || t.status === TaskStatus.processing);
    const [positions, concurrency] = await Promise.all([
      this.queuePositions(due, now),
      waitingOrRunning ? this.liveConcurrency() : Promise.resolve(0),
    ]);
    const types = [
      ...new Set(
        tasks
          .filter((t) => t.status === TaskStatus.queued || t.status === TaskStatus.processing)
          .map((t) => t.taskType),
      ),
    ];
    const averages = new Map(
      await Promise.all(types.map(async (type) => [type, await this.averageRunSeconds(type)] as const)),
    );
    return tasks.map((task) => {
      const waiting = task.status === TaskStatus.queued;
      const queuePosition = positions.get(task.id) ?? null;
      const estimated = estimateCompletion({
        status: task.status,
        now,
        startedAt: task.startedAt,
        completedAt: task.completedAt,
        scheduleFor: task.scheduleFor,
        progress: task.progress,
        queuePosition,
        averageRunSeconds: averages.get(task.taskType) ?? null,
        concurrency,
      });
      return toResponse(task, waiting ? queuePosition : 0, estimated);
    });
  }

  private async averageRunSeconds(taskType: TaskType): Promise<number | null> {
    const ofType = await this.cached(this.averages, taskType, () =>
      this.tasks.recentAverageRunSeconds(taskType, AVERAGE_SAMPLE),
    );
    if (ofType !== null) return ofType;
    return this.cached(this.averages, 'all', () => this.tasks.recentAverageRunSeconds(null, AVERAGE_SAMPLE));
  }

  /**
   * From the queue itself when Redis answers (cheap, and the order the dispatcher really
   * follows); PostgreSQL counts for tasks the queue does not hold in order — a job waiting on
   * a worker's concurrency limit, or a task whose job is being re-dispatched — or when Redis is down.
   */
  private async queuePositions(due: TaskRecord[], now: Date): Promise<Map<string, number>> {
    const fromQueue = await this.queue.queuePositions(due).catch(() => new Map<string, number>());
    const missing = due.filter((t) => !fromQueue.has(t.id));
    if (missing.length === 0) return fromQueue;
    const fromDatabase = await this.tasks.queuePositions(missing, now);
    return new Map([...fromQueue, ...fromDatabase]);
  }

  private liveConcurrency(): Promise<number> {
    return this.cached(this.concurrency, 'live', async () => {
      // Without Redis there is no basis for an estimate, which is not a reason to fail the request.
      const workers = await this.workers.liveWorkers().catch(() => []);
      return workers.filter((w) => w.status !== 'stopping').reduce((sum, w) => sum + w.concurrency, 0);
    });
  }

  /**
   * Fresh for CACHE_MS; after that the stale value is served while one load refreshes it in
   * the background, so no request waits for the query and a burst of requests starts it once.
   * Only the first calls of a key wait, all on the same load.
   */
  private cached<K, T>(cache: Map<K, Cached<T>>, key: K, load: () => Promise<T>): Promise<T> {
    let entry = cache.get(key);
    if (!entry) cache.set(key, (entry = { loaded: false, at: 0 }));
    const current = entry;
    if (Date.now() - current.at >= CACHE_MS && !current.loading) {
      current.loading = load()
        .then((value) => {
          Object.assign(current, { value, loaded: true, at: Date.now() });
          return value;
        })
        .finally(() => (current.loading = undefined));
      // A failed background refresh keeps the stale value; first-load callers see the error.
      current.loading.catch(() => undefined);
    }
    return current.loaded ? Promise.resolve(current.value as T) : current.loading!;
  }
}
