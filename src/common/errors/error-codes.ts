import { HttpStatus } from '@nestjs/common';

/**
 * Stable, machine-readable error codes of the API. Clients switch on these, so a code
 * never changes meaning; the HTTP status each maps to lives in one table below.
 */
export enum ErrorCode {
  InvalidRequest = 'INVALID_REQUEST',
  Unauthorized = 'UNAUTHORIZED',
  Forbidden = 'FORBIDDEN',
  RateLimited = 'RATE_LIMITED',
  TaskNotFound = 'TASK_NOT_FOUND',
  TaskNotCancelable = 'TASK_NOT_CANCELABLE',
  TaskNotRetryable = 'TASK_NOT_RETRYABLE',
  TaskNotProcessing = 'TASK_NOT_PROCESSING',
  /** An external worker's lease: the task was cancelled, stop working on it. */
  TaskCancelled = 'TASK_CANCELLED',
  /** An external worker's lease ran out before the call; the task was (or is being) requeued. */
  LeaseExpired = 'LEASE_EXPIRED',
  /** An external worker's lease is no longer the task's: it was leased again, or retried. */
  LeaseLost = 'LEASE_LOST',
  QueueFull = 'QUEUE_FULL',
  IdempotencyKeyReused = 'IDEMPOTENCY_KEY_REUSED',
  ServiceUnavailable = 'SERVICE_UNAVAILABLE',
  NotFound = 'NOT_FOUND',
  MethodNotAllowed = 'METHOD_NOT_ALLOWED',
  PayloadTooLarge = 'PAYLOAD_TOO_LARGE',
  UnsupportedMediaType = 'UNSUPPORTED_MEDIA_TYPE',
  InternalError = 'INTERNAL_ERROR',
}

export const ERROR_STATUS: Record<ErrorCode, HttpStatus> = {
  [ErrorCode.InvalidRequest]: HttpStatus.BAD_REQUEST,
  [ErrorCode.Unauthorized]: HttpStatus.UNAUTHORIZED,
  [ErrorCode.Forbidden]: HttpStatus.FORBIDDEN,
  [ErrorCode.RateLimited]: HttpStatus.TOO_MANY_REQUESTS,
  [ErrorCode.TaskNotFound]: HttpStatus.NOT_FOUND,
  [ErrorCode.TaskNotCancelable]: HttpStatus.CONFLICT,
  [ErrorCode.TaskNotRetryable]: HttpStatus.CONFLICT,
  [ErrorCode.TaskNotProcessing]: HttpStatus.CONFLICT,
  [ErrorCode.TaskCancelled]: HttpStatus.CONFLICT,
  [ErrorCode.LeaseExpired]: HttpStatus.CONFLICT,
  [ErrorCode.LeaseLost]: HttpStatus.CONFLICT,
  [ErrorCode.QueueFull]: HttpStatus.SERVICE_UNAVAILABLE,
  [ErrorCode.IdempotencyKeyReused]: HttpStatus.CONFLICT,
  [ErrorCode.ServiceUnavailable]: HttpStatus.SERVICE_UNAVAILABLE,
  [ErrorCode.NotFound]: HttpStatus.NOT_FOUND,
  [ErrorCode.MethodNotAllowed]: HttpStatus.METHOD_NOT_ALLOWED,
  [ErrorCode.PayloadTooLarge]: HttpStatus.PAYLOAD_TOO_LARGE,
  [ErrorCode.UnsupportedMediaType]: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  [ErrorCode.InternalError]: HttpStatus.INTERNAL_SERVER_ERROR,
};

/** The short human title (`error` field) for each code. */
export const ERROR_TITLE: Record<ErrorCode, string> = {
  [ErrorCode.InvalidRequest]: 'Invalid request',
  [ErrorCode.Unauthorized]: 'Unauthorized',
  [ErrorCode.Forbidden]: 'Forbidden',
  [ErrorCode.RateLimited]: 'Too many requests',
  [ErrorCode.TaskNotFound]: 'Task not found',
  [ErrorCode.TaskNotCancelable]: 'Task not cancelable',
  [ErrorCode.TaskNotRetryable]: 'Task not retryable',
  [ErrorCode.TaskNotProcessing]: 'Task not processing',
  [ErrorCode.TaskCancelled]: 'Task cancelled',
  [ErrorCode.LeaseExpired]: 'Lease expired',
  [ErrorCode.LeaseLost]: 'Lease lost',
  [ErrorCode.QueueFull]: 'Queue full',
  [ErrorCode.IdempotencyKeyReused]: 'Idempotency key reused',
  [ErrorCode.ServiceUnavailable]: 'Service unavailable',
  [ErrorCode.NotFound]: 'Not found',
  [ErrorCode.MethodNotAllowed]: 'Method not allowed',
  [ErrorCode.PayloadTooLarge]: 'Payload too large',
  [ErrorCode.UnsupportedMediaType]: 'Unsupported media type',
  [ErrorCode.InternalError]: 'Internal server error',
};
