import { ErrorCode } from './error-codes';

/**
 * What services throw instead of HTTP exceptions: a stable code, a message for people and
 * structured details. The exception filter alone decides the HTTP status.
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** Sent as the Retry-After header: when trying again makes sense. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export class TaskNotFoundError extends DomainError {
  constructor(taskId: string) {
    super(ErrorCode.TaskNotFound, 'Task with specified ID does not exist', { task_id: taskId });
  }
}

export class InvalidRequestError extends DomainError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(ErrorCode.InvalidRequest, message, details);
  }
}

export class ServiceUnavailableError extends DomainError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(ErrorCode.ServiceUnavailable, message, details);
  }
}

export class QueueFullError extends DomainError {
  constructor(waiting: number, limit: number, retryAfterSeconds: number) {
    super(ErrorCode.QueueFull, 'Too many tasks are waiting; try again later', { waiting, limit }, retryAfterSeconds);
  }
}
