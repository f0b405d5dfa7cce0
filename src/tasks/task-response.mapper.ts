import type { TaskRecord } from '../task-types/task-record';
import { TaskResponseDto } from './dto/task-response.dto';

/**
 * A stored task as the API shows it, given the live figures the caller worked out. The one
 * mapping from a task to its JSON: the API's presenter and the webhook bodies (worker role)
 * both use it, so a callback receives exactly what GET /api/v1/tasks/{id} would show.
 */
export function toResponse(task: TaskRecord, queuePosition: number | null, estimated: Date | null): TaskResponseDto {
  return {
    id: task.id,
    task_type: task.taskType,
    status: task.status,
    priority: task.priority,
    kb_id: task.kbId,
    payload: task.payload,
    result: task.result ?? null,
    progress: task.progress,
    progress_message: task.progressMessage,
    retry_count: task.retryCount,
    max_retries: task.maxRetries,
    timeout: task.timeoutSeconds,
    schedule_for: iso(task.scheduleFor),
    error_message: task.errorMessage ?? '',
    worker_id: task.workerId,
    parent_id: task.parentId,
    created_at: task.createdAt.toISOString(),
    updated_at: task.updatedAt.toISOString(),
    started_at: iso(task.startedAt),
    completed_at: iso(task.completedAt),
    estimated_completion: iso(estimated),
    queue_position: queuePosition,
    callback_url: task.callbackUrl,
  };
}

function iso(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}
