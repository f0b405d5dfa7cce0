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
  constructor(message: string, details: Record<string, unknown> = {}, retryAfterSeconds?: number) {
    super(ErrorCode.ServiceUnavailable, message, details, retryAfterSeconds);
  }
}

export class QueueFullError extends DomainError {
  constructor(waiting: number, limit: number, retryAfterSeconds: number) {
    super(ErrorCode.QueueFull, 'Too many tasks are waiting; try again later', { waiting, limit }, retryAfterSeconds);
  }
}

/** 401: no credentials, or credentials that do not verify. `challenge` is sent as WWW-Authenticate. */
export class UnauthorizedError extends DomainError {
  constructor(
    message: string,
    details: Record<string, unknown> = {},
    readonly challenge = 'Bearer realm="task-manager"',
  ) {
    super(ErrorCode.Unauthorized, message, details);
  }
}

/** 403: a verified caller whose role does not allow the operation. */
export class ForbiddenError extends DomainError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(ErrorCode.Forbidden, message, details);
  }
}

/** 429: the caller's request budget for the current window is spent. */
export class RateLimitedError extends DomainError {
  constructor(limit: number, windowSeconds: number, retryAfterSeconds: number) {
    super(
      ErrorCode.RateLimited,
      `Rate limit of ${limit} requests per ${windowSeconds} s exceeded; retry after ${retryAfterSeconds} s`,
      { limit, window_seconds: windowSeconds },
      retryAfterSeconds,
    );
  }
}

/** 413: a request body over its route's limit (see bodyParsers), naming the limit and the setting that raises it. */
export class PayloadTooLargeError extends DomainError {
  constructor(limit: string, limitBytes: number, setting: string, lengthBytes?: number) {
    super(ErrorCode.PayloadTooLarge, `The request body is larger than this route's limit of ${limit} (${setting})`, {
      limit_bytes: limitBytes,
      ...(lengthBytes ? { length_bytes: lengthBytes } : {}),
      setting,
    });
  }
}

/** 429: too many failed authentications from the client's address; every credential from it waits. */
export class AuthFailuresLimitedError extends DomainError {
  constructor(limit: number, windowSeconds: number, retryAfterSeconds: number) {
    super(
      ErrorCode.RateLimited,
      `More than ${limit} failed authentications from this address within ${windowSeconds} s; retry after ${retryAfterSeconds} s`,
      { limit, window_seconds: windowSeconds, reason: 'failed_authentication' },
      retryAfterSeconds,
    );
  }
}
