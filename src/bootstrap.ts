import { DynamicModule, LoggerService, LogLevel } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AuthenticationGate } from './auth/authentication-gate.service';
import { browserAuthHook } from './auth/browser-auth.middleware';
import { AllExceptionsFilter } from './common/filters/all-exceptions.filter';
import { installBodyParsers, routeBodyLimits, toBytes } from './common/security/body-limits';
import { corsOptions, installSecurityHeaders, SECURITY_HEADERS } from './common/security/http-hardening';
import { refuseHostileUrl } from './common/security/input-limits';
import { Role } from './common/security/roles';
import { appConfig, AllConfig, httpConfig } from './config/app.config';
import { HttpMetricsRecorder } from './metrics/http-metrics.recorder';
import { createOpenApiDocument } from './openapi/openapi-document';

/**
 * Fastify, configured from the environment before Nest exists: whose X-Forwarded-For to
 * believe, no logger of its own (nothing is written per request), routes matched as
 * express matched them (any case, optional trailing slash), and path parameters as long
 * as the URL allows, so an over-long id is answered by its route (404 TASK_NOT_FOUND naming
 * it) rather than by the router. A URL the router cannot decode (`%E0%A4%A`) is refused
 * before any hook runs: answered in the API's error body with the security headers. No
 * middleware engine: nothing here is express middleware.
 */
function createHttpAdapter(errors: AllExceptionsFilter): FastifyAdapter {
  const http = httpConfig();
  const app = appConfig();
  return new FastifyAdapter({
    logger: false,
    trustProxy: http.trustProxy,
    // The ceiling; each route gets its own limit (installBodyParsers).
    bodyLimit: Math.max(toBytes(app.bodyLimit), toBytes(app.taskBodyLimit)),
    routerOptions: { ignoreTrailingSlash: true, caseSensitive: false, maxParamLength: 16 * 1024 },
    skipMiddie: true,
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      void reply.headers(SECURITY_HEADERS);
      errors.send(reply, error);
    },
  });
}

/**
 * The HTTP application as main.ts, the e2e tests and the OpenAPI scripts all run it, so
 * tests exercise exactly what runs: security headers, CORS, body limits per route and JSON
 * checks, the browser login for the pages (Bull Board, dashboard, docs), Swagger at /docs
 * (JSON at /docs-json), request metrics, shutdown hooks. Hooks and parsers are installed
 * before Nest registers its routes (at init), so every route gets them.
 */
export async function createHttpApp(
  module: DynamicModule,
  options: { logger: LoggerService | LogLevel[]; abortOnError?: boolean },
): Promise<NestFastifyApplication> {
  const errors = new AllExceptionsFilter();
  const app = await NestFactory.create<NestFastifyApplication>(module, createHttpAdapter(errors), {
    ...options,
    bodyParser: false,
  });
  const config = app.get<ConfigService<AllConfig, true>>(ConfigService);
  const http = config.getOrThrow('http', { infer: true });
  const auth = config.getOrThrow('auth', { infer: true });
  const fastify = app.getHttpAdapter().getInstance();

  installSecurityHeaders(fastify);
  const cors = corsOptions(http.corsOrigins);
  if (cors) app.enableCors(cors);
  installBodyParsers(fastify, routeBodyLimits(config.getOrThrow('app', { infer: true })), http.maxJsonDepth);
  fastify.addHook(
    'onRequest',
    refuseHostileUrl(http.maxJsonDepth, (reply, error) => {
      errors.send(reply, error);
    }),
  );
  app.get(HttpMetricsRecorder).install(fastify);

  const gate = app.get(AuthenticationGate);
  const pages: [string, Role][] = [
    ['/admin/queues', Role.Admin],
    ['/dashboard', Role.Read],
    ...(auth.docsRequireAuth ? (['/docs', '/docs-json'].map((path) => [path, Role.Read]) as [string, Role][]) : []),
  ];
  browserAuthHook(fastify, gate, errors, pages);
  app.enableShutdownHooks();

  SwaggerModule.setup('docs', app, createOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: 'task-manager API',
    swaggerOptions: { persistAuthorization: true },
  });
  return app;
}
