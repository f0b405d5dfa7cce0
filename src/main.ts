import 'reflect-metadata';
import { Logger, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { Authenticator } from './auth/authenticator.service';
import { createHttpApp } from './bootstrap';
import { errorMessage } from './common/errors/error-message';
import { redactSecrets } from './common/security/redact';
import { RedactingLogger } from './common/security/redacting.logger';
import { uploadNamespaceWarning } from './config/app.config';
import { AppRole, validateEnvironment } from './config/env.validation';

const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

async function main(): Promise<void> {
  const env = validateEnvironment(process.env);
  const logger = new RedactingLogger({
    logLevels: LOG_LEVELS.slice(0, Math.max(1, LOG_LEVELS.indexOf(env.LOG_LEVEL as LogLevel) + 1)),
  });
  const module = AppModule.forRole(env.APP_ROLE);

  if (env.APP_ROLE === AppRole.Worker) {
    // Said before the workers start (they log "Workers started" while the context initialises),
    // so an operator reads where the upload mode comes from before any task runs.
    const namespaceWarning = uploadNamespaceWarning(env);
    if (namespaceWarning) logger.warn(namespaceWarning, 'Security');
    const context = await NestFactory.createApplicationContext(module, { logger });
    context.enableShutdownHooks();
    Logger.log('task-manager workers running (no HTTP in the worker role)', 'Bootstrap');
    return;
  }

  const app = await createHttpApp(module, { logger });
  await app.listen(env.PORT, env.HOST);
  if (!app.get(Authenticator).enabled) {
    Logger.warn(
      'AUTHENTICATION IS OFF: no API_KEYS, JWT_SECRET or JWT_PUBLIC_KEY is set, so anyone who reaches this port can use every endpoint',
      'Security',
    );
  }
  Logger.log(
    `task-manager (${env.APP_ROLE}) listening on http://${env.HOST}:${env.PORT} — Swagger UI at /docs`,
    'Bootstrap',
  );
}

main().catch((error: unknown) => {
  // A bad environment or an unreachable dependency at boot: say why and exit non-zero.
  console.error(redactSecrets(errorMessage(error)));
  process.exit(1);
});
