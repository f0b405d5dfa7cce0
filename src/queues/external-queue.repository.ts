import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service';
import { TASK_PRIORITIES, TaskPriority, TaskType } from '../task-types/task-types';

/** An external task type's queue as PostgreSQL sees it: tasks of those types have no BullMQ job to count. */
export interface ExternalQueueCounts {
  /** Queued and due, per priority. */
  waitingByPriority: Record<TaskPriority, number>;
  /** Queued with a schedule_for (or retry backoff) still to come. */
  delayed: number;
  /** Leased to an external worker. */
  active: number;
}

/**
 * Only unfinished rows are read (the partial indexes on queued and processing tasks serve it),
 * so the cost follows the backlog, not the table.
 */
const COUNT_EXTERNAL = `
  SELECT t.priority,
         count(*) FILTER (WHERE t.status = 'queued' AND (t.schedule_for IS NULL OR t.schedule_for <= now()))::int AS waiting,
         count(*) FILTER (WHERE t.status = 'queued' AND t.schedule_for > now())::int AS delayed,
         count(*) FILTER (WHERE t.status = 'processing')::int AS active
  FROM tasks AS t
  WHERE t.task_type = $1::task_type AND t.status IN ('queued', 'processing')
  GROUP BY t.priority`;

/** The queue views (GET /queues, queue metrics, the waiting total) of task types served by external workers. */
@Injectable()
export class ExternalQueueRepository {
  constructor(private readonly prisma: PrismaService) {}

  async counts(taskType: TaskType): Promise<ExternalQueueCounts> {
    const { rows } = await this.prisma.pool.query<{
      priority: TaskPriority;
      waiting: number;
      delayed: number;
      active: number;
    }>(COUNT_EXTERNAL, [taskType]);
    const waitingByPriority = Object.fromEntries(TASK_PRIORITIES.map((p) => [p, 0])) as Record<TaskPriority, number>;
    let delayed = 0;
    let active = 0;
    for (const row of rows) {
      waitingByPriority[row.priority] = row.waiting;
      delayed += row.delayed;
      active += row.active;
    }
    return { waitingByPriority, delayed, active };
  }
}
