import type { Task } from '../generated/prisma/client';
import type { TaskRecord } from './task-record';

/**
 * The tasks columns under the names of Prisma's Task model, so rows read with SQL have the
 * same shape as rows read through Prisma and both map through toTaskRecord.
 */
export function taskColumns(alias: string): string {
  const columns: [string, keyof Task][] = [
    ['id', 'id'],
    ['task_type', 'taskType'],
    ['kb_id', 'kbId'],
    ['priority', 'priority'],
    ['status', 'status'],
    ['payload', 'payload'],
    ['result', 'result'],
    ['progress', 'progress'],
    ['progress_message', 'progressMessage'],
    ['retry_count', 'retryCount'],
    ['max_retries', 'maxRetries'],
    ['attempt', 'attempt'],
    ['timeout', 'timeoutSeconds'],
    ['schedule_for', 'scheduleFor'],
    ['error_message', 'errorMessage'],
    ['worker_id', 'workerId'],
    ['parent_id', 'parentId'],
    ['created_at', 'createdAt'],
    ['updated_at', 'updatedAt'],
    ['started_at', 'startedAt'],
    ['completed_at', 'completedAt'],
    ['callback_url', 'callbackUrl'],
    ['callback_secret', 'callbackSecret'],
    ['document_id', 'documentId'],
  ];
  return columns.map(([column, field]) => `${alias}.${column} AS "${field}"`).join(', ');
}

export const TASK_RETURNING = taskColumns('t');

/** The repository boundary: a stored row (Prisma's or SQL's) as the domain's TaskRecord. */
export function toTaskRecord(row: Task): TaskRecord {
  return {
    id: row.id,
    taskType: row.taskType,
    kbId: row.kbId,
    priority: row.priority,
    status: row.status,
    // Every stored payload is a JSON object: requests are validated before they are stored.
    payload: row.payload as Record<string, unknown>,
    result: row.result,
    progress: row.progress,
    progressMessage: row.progressMessage,
    retryCount: row.retryCount,
    maxRetries: row.maxRetries,
    attempt: row.attempt,
    timeoutSeconds: row.timeoutSeconds,
    scheduleFor: row.scheduleFor,
    errorMessage: row.errorMessage,
    workerId: row.workerId,
    parentId: row.parentId,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    startedAt: row.startedAt,
    completedAt: row.completedAt,
    callbackUrl: row.callbackUrl,
    callbackSecret: row.callbackSecret,
    documentId: row.documentId,
  };
}

export function toTaskRecordOrNull(row: Task | undefined | null): TaskRecord | null {
  return row ? toTaskRecord(row) : null;
}
