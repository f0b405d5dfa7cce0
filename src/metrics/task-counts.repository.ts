import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service';
import type { TaskPriority, TaskStatus, TaskType } from '../task-types/task-types';

export interface TaskCount {
  taskType: TaskType;
  priority: TaskPriority;
  status: TaskStatus;
  count: number;
}

/**
 * Task counts over every knowledge base for the metrics: the sum of the trigger-kept
 * task_counters rows (a few per kb), never a count over the tasks. The triggers write in
 * the same transaction as the task, so a read sees every committed transition.
 */
@Injectable()
export class TaskCountsRepository {
  constructor(private readonly prisma: PrismaService) {}

  async countByKey(): Promise<TaskCount[]> {
    const rows = await this.prisma.taskCounter.groupBy({
      by: ['taskType', 'priority', 'status'],
      _sum: { count: true },
    });
    return rows.map((row) => ({
      taskType: row.taskType,
      priority: row.priority,
      status: row.status,
      count: Number(row._sum.count ?? 0),
    }));
  }
}
