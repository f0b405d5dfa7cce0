import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { redactSecrets } from './redact';

/**
 * Nest's console logger with every message and stack trace passed through redactSecrets,
 * so no log line carries a key, a token, an Authorization header or a URL password,
 * whichever code wrote it.
 */
export class RedactingLogger extends ConsoleLogger {
  protected override stringifyMessage(message: unknown, logLevel: LogLevel): string {
    return redactSecrets(String(super.stringifyMessage(message, logLevel)));
  }

  protected override printStackTrace(stack: string): void {
    super.printStackTrace(redactSecrets(stack));
  }
}
