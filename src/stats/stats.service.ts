import { Injectable } from '@nestjs/common';
import { round } from '../common/utils/round';
import { TaskQueueService } from '../queues/task-queue.service';
import { WorkerDirectoryService, WorkerSnapshot } from '../queues/worker-directory.service';
import { TASK_STATUSES, TaskStatus } from '../task-types/task-types';
import type { TimeseriesBucket } from './dto/stats-query.dto';
import {
  SystemStatsResponseDto,
  TaskStatsResponseDto,
  TimeseriesResponseDto,
  WorkerStatsDto,
} from './dto/stats-response.dto';
import { KbSelection, StatsRepository } from './stats.repository';

const ACTIVE_WINDOW_MS = 60_000;
const RATE_WINDOW_SECONDS = 60;

/** Aggregates for `/api/v1/stats/*`, computed in PostgreSQL and from the live worker directory. */
@Injectable()
export class StatsService {
  constructor(
    private readonly stats: StatsRepository,
    private readonly queues: TaskQueueService,
    private readonly workers: WorkerDirectoryService,
  ) {}

  /**
   * One kb's, all kbs', or — `scope`, a caller limited to some kbs — those kbs' statistics.
   * Read from task_counters, which triggers keep per (kb, type, priority, status): a few rows
   * per kb whatever its size, where counting the tasks themselves grew with the kb.
   */
  async taskStats(kbId?: string, scope: readonly string[] | null = null): Promise<TaskStatsResponseDto> {
    const groups = await this.stats.countsByStatusAndType(selection(kbId, scope));
    const status_breakdown = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
    const type_breakdown: Record<string, number> = {};
    let runMs = 0;
    let runs = 0;
    for (const group of groups) {
      runMs += group.runMsSum;
      runs += group.runCount;
      // Counter rows stay at 0 once their tasks are gone; a type without tasks is not listed.
      if (group.count === 0) continue;
      status_breakdown[group.status] += group.count;
      type_breakdown[group.taskType] = (type_breakdown[group.taskType] ?? 0) + group.count;
    }
    const finished = status_breakdown.completed + status_breakdown.failed;
    return {
      total_tasks: Object.values(status_breakdown).reduce((a, b) => a + b, 0),
      queued_tasks: status_breakdown.queued,
      processing_tasks: status_breakdown.processing,
      completed_tasks: status_breakdown.completed,
      failed_tasks: status_breakdown.failed,
      cancelled_tasks: status_breakdown.cancelled,
      avg_process_time: runs === 0 ? 0 : round(runMs / runs / 1000, 3),
      success_rate: finished === 0 ? 0 : round((status_breakdown.completed / finished) * 100, 1),
      status_breakdown,
      type_breakdown,
    };
  }

  /**
   * Completed, failed and cancelled tasks per bucket by completed_at, the last `buckets`
   * buckets up to now, empty ones included (a chart needs them). `scope` narrows "all" to
   * the knowledge bases a limited caller may see.
   */
  async timeseries(
    kbId: string | undefined,
    bucket: TimeseriesBucket,
    buckets: number,
    scope: readonly string[] | null = null,
  ): Promise<TimeseriesResponseDto> {
    const rows = await this.stats.finishedPerBucket(selection(kbId, scope), bucket, buckets);
    return {
      kb_id: kbId ?? null,
      bucket,
      points: rows.map((r) => ({
        at: r.at.toISOString(),
        completed: r.completed,
        failed: r.failed,
        cancelled: r.cancelled,
      })),
    };
  }

  async systemStats(): Promise<SystemStatsResponseDto> {
    const [workers, queue_size, finishedRecently, task_stats] = await Promise.all([
      this.workers.liveWorkers(),
      this.queues.totalWaiting(),
      this.stats.countFinishedSince(new Date(Date.now() - RATE_WINDOW_SECONDS * 1000)),
      this.taskStats(),
    ]);
    const now = Date.now();
    const busy = workers.filter((w) => w.current_task_ids.length > 0);
    const active = workers.filter((w) => w.current_task_ids.length > 0 || recentlyFinished(w, now));
    return {
      total_workers: workers.length,
      active_workers: active.length,
      idle_workers: workers.length - active.length,
      busy_workers: busy.length,
      queue_size,
      processing_rate: round(finishedRecently / RATE_WINDOW_SECONDS, 2),
      workers: workers.map(toWorkerStats),
      task_stats,
    };
  }
}

/** One kb, the kbs a limited caller may see, or (null) all. */
function selection(kbId: string | undefined, scope: readonly string[] | null): KbSelection {
  return kbId ? [kbId] : scope;
}

function recentlyFinished(worker: WorkerSnapshot, now: number): boolean {
  return worker.last_task_finished_at !== null && now - Date.parse(worker.last_task_finished_at) < ACTIVE_WINDOW_MS;
}

function toWorkerStats(w: WorkerSnapshot): WorkerStatsDto {
  return {
    id: w.id,
    status: w.status,
    current_task_id: w.current_task_id,
    current_task_ids: w.current_task_ids,
    concurrency: w.concurrency,
    tasks_processed: w.tasks_processed,
    tasks_succeeded: w.tasks_succeeded,
    tasks_failed: w.tasks_failed,
    last_heartbeat: w.last_heartbeat,
    started_at: w.started_at,
    average_task_time: w.average_task_time,
  };
}
