import { TaskPriority, TaskStatus, TaskType } from '../generated/prisma/enums';

export { TaskPriority, TaskStatus, TaskType };

/** Every task type; each one is also the name of its BullMQ queue; task-type-registry.ts holds what else a type has. */
export const TASK_TYPES = Object.values(TaskType) as TaskType[];
export const TASK_PRIORITIES = Object.values(TaskPriority) as TaskPriority[];
export const TASK_STATUSES = Object.values(TaskStatus) as TaskStatus[];

/** Statuses a task never leaves on its own (only an explicit retry re-queues failed/cancelled). */
export const TERMINAL_STATUSES: readonly TaskStatus[] = [TaskStatus.completed, TaskStatus.failed, TaskStatus.cancelled];

/**
 * BullMQ runs lower numbers first and jobs without a priority before all prioritised
 * ones, so every task gets an explicit rank: critical, then high, normal, low.
 */
export const BULLMQ_PRIORITY: Record<TaskPriority, number> = {
  [TaskPriority.critical]: 1,
  [TaskPriority.high]: 2,
  [TaskPriority.normal]: 3,
  [TaskPriority.low]: 4,
};

/**
 * Each rank owns a band of BullMQ priorities this wide: BullMQ accepts 1..2^21, so four
 * bands of 2^19 fill it. Within its band a job's priority is its knowledge base's fair tag
 * (src/queues/kb-fair-tags.ts), so the band's jobs run round-robin across kbs while every
 * critical job still runs before any high one.
 */
export const PRIORITY_BAND_WIDTH = 2 ** 19;

/** The BullMQ priorities of a task priority's band, first (its plain FIFO value) to last. */
export function priorityBand(priority: TaskPriority): { first: number; last: number } {
  const first = (BULLMQ_PRIORITY[priority] - 1) * PRIORITY_BAND_WIDTH + 1;
  return { first, last: first + PRIORITY_BAND_WIDTH - 1 };
}

export const HEALTH_COMPONENTS = ['database', 'redis', 'queues'] as const;
export type HealthComponent = (typeof HEALTH_COMPONENTS)[number];

/**
 * What travels in a BullMQ job: the task id, and its kb (which never changes) so a worker can
 * check the kb's concurrency cap before it claims the task. PostgreSQL holds the rest, so
 * Redis stays small and rebuildable. Jobs queued before the kb was carried have none.
 */
export interface TaskJobData {
  taskId: string;
  kbId?: string;
}
