import { Injectable } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { TaskStatus, TaskType } from '../task-types/task-types';
import type { TimeseriesBucket } from './dto/stats-query.dto';

/** Which knowledge bases a statistic covers: the ones listed, or (null) every one. */
export type KbSelection = readonly string[] | null;

/** Counter sums of one (status, task type): tasks now in it, and run time of those that ran. */
export interface StatusTypeCount {
  status: TaskStatus;
  taskType: TaskType;
  count: number;
  runMsSum: number;
  runCount: number;
}

/** Tasks that finished in one bucket, by how they finished. */
export interface FinishedBucket {
  at: Date;
  completed: number;
  failed: number;
  cancelled: number;
}

/** SQL for "kb_id is one of these": `=` for one kb, so the (kb_id, …) indexes are used as for any single-kb query. */
function kbFilter(kbIds: KbSelection): Prisma.Sql {
  if (kbIds === null) return Prisma.empty;
  return kbIds.length === 1 ? Prisma.sql`AND kb_id = ${kbIds[0]}` : Prisma.sql`AND kb_id = ANY(${[...kbIds]})`;
}

/** The aggregates behind `/api/v1/stats/*`, all computed in PostgreSQL. */
@Injectable()
export class StatsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Sums of the task_counters rows, which triggers keep per (kb, type, priority, status): a
   * few rows per kb whatever its size, where counting the tasks themselves grew with the kb.
   */
  async countsByStatusAndType(kbIds: KbSelection): Promise<StatusTypeCount[]> {
    const groups = await this.prisma.taskCounter.groupBy({
      by: ['status', 'taskType'],
      where: kbIds === null ? {} : { kbId: { in: [...kbIds] } },
      _sum: { count: true, runMsSum: true, runCount: true },
    });
    return groups.map((g) => ({
      status: g.status,
      taskType: g.taskType,
      count: Number(g._sum.count ?? 0),
      runMsSum: Number(g._sum.runMsSum ?? 0),
      runCount: Number(g._sum.runCount ?? 0),
    }));
  }

  /**
   * Completed, failed and cancelled tasks per bucket by completed_at, the last `buckets`
   * buckets up to now, empty ones included. Served by completed_at indexes: (kb_id,
   * completed_at) for one kb, completed_at for all.
   */
  async finishedPerBucket(kbIds: KbSelection, bucket: TimeseriesBucket, buckets: number): Promise<FinishedBucket[]> {
    return this.prisma.$queryRaw<FinishedBucket[]>`
      WITH series AS (
        SELECT generate_series(
          date_trunc(${bucket}, now()) - (${buckets - 1} * ('1 ' || ${bucket})::interval),
          date_trunc(${bucket}, now()),
          ('1 ' || ${bucket})::interval) AS at
      ), finished AS (
        SELECT date_trunc(${bucket}, completed_at) AS at,
               count(*) FILTER (WHERE status = 'completed')::int AS completed,
               count(*) FILTER (WHERE status = 'failed')::int AS failed,
               count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled
        FROM tasks
        WHERE completed_at >= (SELECT min(at) FROM series) ${kbFilter(kbIds)}
        GROUP BY 1
      )
      SELECT s.at, coalesce(f.completed, 0) AS completed, coalesce(f.failed, 0) AS failed, coalesce(f.cancelled, 0) AS cancelled
      FROM series s LEFT JOIN finished f ON f.at = s.at
      ORDER BY s.at`;
  }

  /** Tasks of every kb that completed or failed at or after `since`. */
  countFinishedSince(since: Date): Promise<number> {
    return this.prisma.task.count({
      where: { status: { in: [TaskStatus.completed, TaskStatus.failed] }, completedAt: { gte: since } },
    });
  }
}
