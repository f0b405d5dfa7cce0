import type { TaskPriority, TaskStatus, TaskType } from './task-types';

/** A task as the rest of the service sees it; repositories map their rows to it. */
export interface TaskRecord {
  id: string;
  taskType: TaskType;
  kbId: string;
  priority: TaskPriority;
  status: TaskStatus;
  payload: Record<string, unknown>;
  result: unknown;
  progress: number;
  progressMessage: string | null;
  retryCount: number;
  maxRetries: number;
  /** Executions started so far: every worker write is guarded by the attempt it claimed. */
  attempt: number;
  timeoutSeconds: number;
  scheduleFor: Date | null;
  errorMessage: string | null;
  workerId: string | null;
  parentId: string | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  callbackUrl: string | null;
  callbackSecret: string | null;
  documentId: string | null;
}

/** A task to store; everything else starts from the column defaults (queued, attempt 0, …). */
export interface NewTask {
  taskType: TaskType;
  kbId: string;
  priority: TaskPriority;
  payload: Record<string, unknown>;
  maxRetries: number;
  timeoutSeconds: number;
  scheduleFor: Date | null;
  parentId?: string | null;
  callbackUrl?: string | null;
  callbackSecret?: string | null;
}

export interface TaskFilter {
  kbId?: string;
  /** Only these knowledge bases (a caller limited to some); combined with kbId, both must hold. */
  kbIds?: readonly string[];
  status?: TaskStatus;
  taskType?: TaskType;
  priority?: TaskPriority;
  createdAfter?: Date;
  createdBefore?: Date;
  completedAfter?: Date;
  completedBefore?: Date;
  parentId?: string;
  documentId?: string;
  errorContains?: string;
}

export type TaskSortField =
  'created_at' | 'updated_at' | 'started_at' | 'completed_at' | 'priority' | 'status' | 'task_type' | 'progress';

/** Where a batch of a bulk action ended: the next batch starts after it (oldest first). */
export interface BulkCursor {
  createdAt: Date;
  id: string;
}

/** A processing task nobody touched for a while, and whether it is a parent waiting on children. */
export type StaleTask = Pick<
  TaskRecord,
  'id' | 'kbId' | 'taskType' | 'priority' | 'scheduleFor' | 'maxRetries' | 'attempt'
> & {
  hasChildren: boolean;
};

/** A queued task the reconciler checks against BullMQ. */
export type DueTask = Pick<
  TaskRecord,
  'id' | 'kbId' | 'taskType' | 'priority' | 'scheduleFor' | 'maxRetries' | 'updatedAt'
>;
