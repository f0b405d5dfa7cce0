import { randomUUID } from 'node:crypto';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DomainError, UnauthorizedError } from '../errors/domain.error';
import { ERROR_STATUS, ERROR_TITLE, ErrorCode } from '../errors/error-codes';
import { isDatabaseUnavailable } from '../errors/infrastructure-errors';
import { redactSecrets } from '../security/redact';

/** The one error body of the API: `{ error, message, code, details }`, exactly as the spec shows. */
export interface ErrorBody {
  error: string;
  message: string;
  code: string;
  details: Record<string, unknown>;
}

const STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  [HttpStatus.BAD_REQUEST]: ErrorCode.InvalidRequest,
  [HttpStatus.UNAUTHORIZED]: ErrorCode.Unauthorized,
  [HttpStatus.FORBIDDEN]: ErrorCode.Forbidden,
  [HttpStatus.TOO_MANY_REQUESTS]: ErrorCode.RateLimited,
  [HttpStatus.NOT_FOUND]: ErrorCode.NotFound,
  [HttpStatus.METHOD_NOT_ALLOWED]: ErrorCode.MethodNotAllowed,
  [HttpStatus.PAYLOAD_TOO_LARGE]: ErrorCode.PayloadTooLarge,
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: ErrorCode.UnsupportedMediaType,
  [HttpStatus.SERVICE_UNAVAILABLE]: ErrorCode.ServiceUnavailable,
};

/**
 * Maps everything thrown while serving a request to the spec's error body: domain errors
 * through the code table, framework HTTP errors (unknown route, malformed JSON, body too
 * large) to the same shape, an unreachable database to 503, and anything else to a 500
 * that carries a logged error id but never a stack trace or SQL.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    this.send(host.switchToHttp().getResponse<FastifyReply>(), exception);
  }

  /** Answers with the error body; also used where Nest's filters do not reach (Fastify's own refusals, the pages' login hooks). */
  send(response: FastifyReply, exception: unknown): void {
    if (response.sent || response.raw.headersSent) return;
    const [status, body] = this.toBody(exception);
    if (exception instanceof DomainError && exception.retryAfterSeconds !== undefined) {
      response.header('Retry-After', String(exception.retryAfterSeconds));
    }
    if (exception instanceof UnauthorizedError) response.header('WWW-Authenticate', exception.challenge);
    void response.status(status).type('application/json; charset=utf-8').send(body);
  }

  toBody(exception: unknown): [number, ErrorBody] {
    if (exception instanceof DomainError) {
      return [ERROR_STATUS[exception.code], body(exception.code, exception.message, exception.details)];
    }
    if (exception instanceof HttpException) {
      return this.fromHttpException(exception);
    }
    if (isClientHttpError(exception)) {
      // Fastify's own refusals (an unsupported media type, a malformed URL) come as its coded errors.
      const code = STATUS_CODES[exception.statusCode] ?? ErrorCode.InvalidRequest;
      return [exception.statusCode, body(code, exception.message, {})];
    }
    if (isDatabaseUnavailable(exception)) {
      this.logger.warn(redactSecrets(`Database unavailable: ${(exception as Error).message}`));
      return [
        HttpStatus.SERVICE_UNAVAILABLE,
        body(ErrorCode.ServiceUnavailable, 'The database is unavailable; try again shortly', { component: 'database' }),
      ];
    }
    const errorId = randomUUID();
    this.logger.error(
      `Unhandled error ${errorId}`,
      redactSecrets(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)),
    );
    return [
      HttpStatus.INTERNAL_SERVER_ERROR,
      body(ErrorCode.InternalError, 'An unexpected error occurred', { error_id: errorId }),
    ];
  }

  private fromHttpException(exception: HttpException): [number, ErrorBody] {
    const status = exception.getStatus();
    const code = STATUS_CODES[status] ?? (status >= 500 ? ErrorCode.InternalError : ErrorCode.InvalidRequest);
    const raw = exception.getResponse();
    const message = typeof raw === 'string' ? raw : (readMessage(raw) ?? exception.message);
    return [status, body(code, message, {})];
  }
}

function isClientHttpError(error: unknown): error is { statusCode: number; message: string } {
  const e = error as { statusCode?: unknown; code?: unknown } | null;
  return (
    typeof e?.statusCode === 'number' &&
    e.statusCode >= 400 &&
    e.statusCode < 500 &&
    typeof e.code === 'string' &&
    e.code.startsWith('FST_')
  );
}

function readMessage(raw: object): string | undefined {
  const message = (raw as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : undefined;
}

function body(code: ErrorCode, message: string, details: Record<string, unknown>): ErrorBody {
  return { error: ERROR_TITLE[code], message, code, details };
}
