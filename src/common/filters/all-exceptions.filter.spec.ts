import { ArgumentsHost, Logger } from '@nestjs/common';
import { RateLimitedError, UnauthorizedError } from '../errors/domain.error';
import { AllExceptionsFilter } from './all-exceptions.filter';

function fakeHost() {
  const headers: Record<string, string> = {};
  const sent: { status?: number; body?: unknown } = {};
  // The part of Fastify's reply the filter uses.
  const response = {
    sent: false,
    raw: { headersSent: false },
    header(name: string, value: string) {
      headers[name] = value;
      return this;
    },
    status(code: number) {
      sent.status = code;
      return this;
    },
    type() {
      return this;
    },
    send(body: unknown) {
      sent.body = body;
      return this;
    },
  };
  const host = { switchToHttp: () => ({ getResponse: () => response }) } as unknown as ArgumentsHost;
  return { host, headers, sent };
}

describe('AllExceptionsFilter', () => {
  const filter = new AllExceptionsFilter();

  it('answers an unexpected error with an error id only, and logs it with secrets redacted', () => {
    const logged: unknown[] = [];
    const spy = jest
      .spyOn(Logger.prototype, 'error')
      .mockImplementation((...args: unknown[]) => void logged.push(...args));
    const error = new Error(
      'SELECT * FROM tasks failed for postgresql://app:s3cr3t-pw@db/tm with Authorization: Bearer tm_live_key',
    );
    const { host, sent } = fakeHost();
    filter.catch(error, host);
    spy.mockRestore();
    expect(sent.status).toBe(500);
    expect(sent.body).toEqual({
      error: 'Internal server error',
      message: 'An unexpected error occurred',
      code: 'INTERNAL_ERROR',
      details: { error_id: expect.any(String) },
    });
    const log = logged.join('\n');
    expect(log).toContain('SELECT * FROM tasks');
    expect(log).not.toContain('s3cr3t-pw');
    expect(log).not.toContain('tm_live_key');
  });

  it('sends WWW-Authenticate with 401 and Retry-After with 429', () => {
    const unauthorized = fakeHost();
    filter.catch(new UnauthorizedError('Invalid credentials', {}, 'Basic realm="task-manager"'), unauthorized.host);
    expect(unauthorized.sent.status).toBe(401);
    expect(unauthorized.headers['WWW-Authenticate']).toBe('Basic realm="task-manager"');

    const limited = fakeHost();
    filter.catch(new RateLimitedError(10, 60, 17), limited.host);
    expect(limited.sent).toEqual({
      status: 429,
      body: expect.objectContaining({ code: 'RATE_LIMITED', details: { limit: 10, window_seconds: 60 } }),
    });
    expect(limited.headers['Retry-After']).toBe('17');
  });
});
