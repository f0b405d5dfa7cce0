import { INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { applyAuthToDocument, withSecuritySchemes } from './auth/auth-openapi';
import { AuthenticationGate } from './auth/authentication-gate.service';
import { browserAuth } from './auth/browser-auth.middleware';
import { Role } from './auth/roles';
import { BodyLimits, bodyParsers, documentBodyLimits } from './common/security/body-limits';
import { corsOptions, securityHeaders } from './common/security/http-hardening';
import { inputLimits } from './common/security/input-limits';
import type { AllConfig, AppConfig } from './config/app.config';

/**
 * Task creation reads large bodies (vectors, batches of up to 1,000 tasks; a batch shares
 * one limit); every other route's body is a few fields and stays small.
 */
function routeBodyLimits(app: AppConfig): BodyLimits {
  const create = { limit: app.taskBodyLimit, setting: 'TASK_BODY_LIMIT' };
  return {
    rules: [
      { method: 'POST', path: '/api/v1/tasks', ...create },
      { method: 'POST', path: '/api/v1/tasks/batch', ...create },
    ],
    fallback: { limit: app.bodyLimit, setting: 'BODY_LIMIT' },
  };
}

/**
 * HTTP setup shared by main.ts and the e2e tests, so tests exercise exactly what runs:
 * security headers, CORS, body limits per route and JSON checks, the browser login for the pages
 * (Bull Board, dashboard, docs), Swagger at /docs (JSON at /docs-json), shutdown hooks.
 * Order matters: express runs these before the routes Nest registers at init.
 */
export function configureHttpApp(app: NestExpressApplication): INestApplication {
  const config = app.get<ConfigService<AllConfig, true>>(ConfigService);
  const http = config.getOrThrow('http', { infer: true });
  const auth = config.getOrThrow('auth', { infer: true });
  const bodyLimits = routeBodyLimits(config.getOrThrow('app', { infer: true }));
  app.set('trust proxy', http.trustProxy);
  app.disable('x-powered-by');
  app.use(securityHeaders());
  const cors = corsOptions(http.corsOrigins);
  if (cors) app.enableCors(cors);
  app.use(bodyParsers(bodyLimits));
  app.use(inputLimits(http.maxJsonDepth));
  app.enableShutdownHooks();

  const gate = app.get(AuthenticationGate);
  app.use('/admin/queues', browserAuth(gate, Role.Admin));
  app.use('/dashboard', browserAuth(gate, Role.Read));
  if (auth.docsRequireAuth) for (const path of ['/docs', '/docs-json']) app.use(path, browserAuth(gate, Role.Read));

  const document = SwaggerModule.createDocument(
    app,
    withSecuritySchemes(new DocumentBuilder())
      .setTitle('task-manager')
      .setDescription(
        'Background-task service of the knowledge-base platform: queues, schedules, runs, retries, tracks and reports work. ' +
          'Errors always have the body { error, message, code, details }. ' +
          'When API keys or a JWT key are configured, every route except the health probes (and /metrics unless METRICS_REQUIRE_AUTH) ' +
          'needs an API key (X-API-Key or Authorization: Bearer) or a bearer JWT; each operation names the role it needs.',
      )
      .setVersion(config.getOrThrow('app.version', { infer: true }))
      .build(),
  );
  SwaggerModule.setup('docs', app, documentBodyLimits(applyAuthToDocument(document, { metricsRequireAuth: auth.metricsRequireAuth }), bodyLimits), {
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: 'task-manager API',
    swaggerOptions: { persistAuthorization: true },
  });
  return app;
}
