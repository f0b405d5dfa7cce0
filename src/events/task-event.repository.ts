import { Injectable } from '@nestjs/common';
import { Prisma, TaskEvent } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import type { TaskType } from '../task-types/task-types';

export type TaskEventRecord = TaskEvent;

/** Which events a reader wants: one task's, or those of a kb and/or task type (all when empty). */
export interface TaskEventFilter {
  taskId?: string;
  kbId?: string;
  taskType?: TaskType;
  /** Only these knowledge bases: what a caller limited to some kbs may see. */
  kbIds?: readonly string[];
}

/**
 * Reads of `task_events`, which only the trigger on `tasks` writes. Every read is an index
 * range on the bigserial id: by task (task_id, id), by kb (kb_id, id), or by id alone.
 */
@Injectable()
export class TaskEventRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Events of `filter` after `afterId`, oldest first: the replay of a resumed SSE stream. */
  findAfter(filter: TaskEventFilter, afterId: bigint, limit: number): Promise<TaskEventRecord[]> {
    return this.prisma.taskEvent.findMany({
      where: { id: { gt: afterId }, ...toWhere(filter) },
      orderBy: { id: 'asc' },
      take: limit,
    });
  }

  /** Everything after `cursor` plus the given ids that were missing before: what the live feed reads each tick. */
  findNewAndMissing(cursor: bigint, missing: bigint[], limit: number): Promise<TaskEventRecord[]> {
    return this.prisma.taskEvent.findMany({
      where: missing.length === 0 ? { id: { gt: cursor } } : { OR: [{ id: { gt: cursor } }, { id: { in: missing } }] },
      orderBy: { id: 'asc' },
      take: limit,
    });
  }

  /** The ids of the newest events, at most `lookback` back from the latest: where a feed starts. */
  async newestIds(lookback: number): Promise<bigint[]> {
    const rows = await this.prisma.taskEvent.findMany({
      select: { id: true },
      orderBy: { id: 'desc' },
      take: lookback,
    });
    return rows.map((row) => row.id).reverse();
  }

  /** A task's whole history, oldest first. */
  findByTask(taskId: string): Promise<TaskEventRecord[]> {
    return this.prisma.taskEvent.findMany({ where: { taskId }, orderBy: { id: 'asc' } });
  }
}

function toWhere(filter: TaskEventFilter): Prisma.TaskEventWhereInput {
  return {
    ...(filter.taskId ? { taskId: filter.taskId } : {}),
    ...(filter.kbId ? { kbId: filter.kbId } : {}),
    ...(filter.taskType ? { taskType: filter.taskType } : {}),
    ...(filter.kbIds ? { kbId: filter.kbId ?? { in: [...filter.kbIds] } } : {}),
  };
}
