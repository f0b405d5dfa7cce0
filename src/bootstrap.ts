import { INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SwaggerModule } from '@nestjs/swagger';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AuthenticationGate } from './auth/authentication-gate.service';
import { browserAuth } from './auth/browser-auth.middleware';
import { Role } from './common/security/roles';
import { bodyParsers, routeBodyLimits } from './common/security/body-limits';
import { corsOptions, securityHeaders } from './common/security/http-hardening';
import { inputLimits } from './common/security/input-limits';
import type { AllConfig } from './config/app.config';
import { createOpenApiDocument } from './openapi/openapi-document';

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

  SwaggerModule.setup('docs', app, createOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: 'task-manager API',
    swaggerOptions: { persistAuthorization: true },
  });
  return app;
}
