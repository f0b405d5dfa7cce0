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

export const HEALTH_COMPONENTS = ['database', 'redis', 'queues'] as const;
export type HealthComponent = (typeof HEALTH_COMPONENTS)[number];

/** What travels in a BullMQ job: only the task id. PostgreSQL holds the rest, so Redis stays small and rebuildable. */
export interface TaskJobData {
  taskId: string;
}
