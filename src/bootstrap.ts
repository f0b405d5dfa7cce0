import { INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AllConfig } from './config/app.config';

/**
 * HTTP setup shared by main.ts and the e2e tests, so tests exercise exactly what runs:
 * body limits, Swagger at /docs (JSON at /docs-json), shutdown hooks.
 */
export function configureHttpApp(app: NestExpressApplication): INestApplication {
  const config = app.get<ConfigService<AllConfig, true>>(ConfigService);
  const bodyLimit = config.getOrThrow('app.bodyLimit', { infer: true });
  app.useBodyParser('json', { limit: bodyLimit });
  app.useBodyParser('urlencoded', { limit: bodyLimit, extended: false });
  app.disable('x-powered-by');
  app.enableShutdownHooks();

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('task-manager')
      .setDescription(
        'Background-task service of the knowledge-base platform: queues, schedules, runs, retries, tracks and reports work. ' +
          'Errors always have the body { error, message, code, details }.',
      )
      .setVersion(config.getOrThrow('app.version', { infer: true }))
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', customSiteTitle: 'task-manager API' });
  return app;
}
