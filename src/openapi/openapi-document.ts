import type { INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { HeadersObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { applyAuthToDocument, withSecuritySchemes } from '../auth/auth-openapi';
import { errorResponses } from '../common/decorators/api-errors.decorator';
import { ErrorCode } from '../common/errors/error-codes';
import { documentBodyLimits, routeBodyLimits } from '../common/security/body-limits';
import type { AllConfig } from '../config/app.config';
import { addRequestExamples } from './request-examples';
import { typeTaskSchemas } from './task-schemas';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

const RATE_LIMIT_HEADERS: HeadersObject = {
  'X-RateLimit-Limit': {
    description: 'Requests allowed per window for this caller (sent when rate limiting is on)',
    schema: { type: 'integer' },
  },
  'X-RateLimit-Remaining': { description: 'Requests left in the current window', schema: { type: 'integer' } },
  'X-RateLimit-Reset': { description: 'Seconds until the window resets', schema: { type: 'integer' } },
};

const IDEMPOTENT_REPLAYED: HeadersObject = {
  'Idempotent-Replayed': {
    description:
      '`true` when the Idempotency-Key matched an earlier request and its task(s) are returned instead of new ones',
    schema: { type: 'string', enum: ['true'] },
  },
};

/**
 * The OpenAPI document the service serves at /docs-json (and that `npm run docs:api` and
 * `npm run lint:openapi` export): what the decorators say, then what they cannot say —
 * payload and result typed per task type, executable request examples, the auth and
 * transport-level responses every operation shares, and the headers responses carry.
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = app.get<ConfigService<AllConfig, true>>(ConfigService);
  const auth = config.getOrThrow('auth', { infer: true });
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
      .setLicense('UNLICENSED (private)', 'https://docs.npmjs.com/cli/configuring-npm/package-json#license')
      // Relative, so Swagger UI's "Try it out" calls whichever host served the page (a local
      // `npm start` is http://localhost:8084); generated clients set their own base URL.
      .addServer('/', 'The server this document was loaded from')
      .build(),
  );
  typeTaskSchemas(document);
  defaultsIntoDescriptions(document);
  addRequestExamples(document);
  applyAuthToDocument(document, { metricsRequireAuth: auth.metricsRequireAuth });
  // Each route's own 413 (its limit and the setting that raises it) before the shared responses fill the rest.
  documentBodyLimits(document, routeBodyLimits(config.getOrThrow('app', { infer: true })));
  documentSharedResponses(document);
  const metrics = document.paths['/metrics']?.get;
  if (metrics) metrics.summary ??= 'Prometheus metrics in the text exposition format';
  return document;
}

/**
 * Responses the operations share but no decorator states: 400 for a URL with a NUL
 * character (refused on every route before routing), 413 and 415 from the body parser on
 * every operation with a body, the rate-limit headers on the successful answers
 * of every rate-limited (non-public) operation, and Idempotent-Replayed on the creates.
 */
function documentSharedResponses(document: OpenAPIObject): void {
  const bodyErrors = errorResponses(ErrorCode.PayloadTooLarge, ErrorCode.UnsupportedMediaType);
  const [badUrl] = errorResponses([
    ErrorCode.InvalidRequest,
    'The URL must not contain NUL (%00) characters',
    { reason: 'nul_character' },
  ]);
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      operation.responses['400'] ??= { description: badUrl.description, content: badUrl.content };
      if (operation.requestBody)
        for (const { status, description, content } of bodyErrors)
          operation.responses[String(status)] ??= { description, content };
      const rateLimited = !(Array.isArray(operation.security) && operation.security.length === 0);
      const creates = method === 'post' && (path === '/api/v1/tasks' || path === '/api/v1/tasks/batch');
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!status.startsWith('2') || !response || '$ref' in response) continue;
        const headers = { ...(rateLimited ? RATE_LIMIT_HEADERS : {}), ...(creates ? IDEMPOTENT_REPLAYED : {}) };
        if (Object.keys(headers).length > 0) response.headers = { ...response.headers, ...headers };
      }
    }
  }
}

/**
 * Moves each component property's `default` into its description. openapi-typescript (by
 * default, defaultNonNullable) types a component property that has a default as always
 * present, which is right for a response but makes a client *send* optional request
 * fields such as priority, max_retries and timeout. The server applies the defaults; the
 * description says which. Query parameters keep theirs (they are not components).
 */
function defaultsIntoDescriptions(document: OpenAPIObject): void {
  const visit = (schema: unknown): void => {
    if (schema === null || typeof schema !== 'object') return;
    if (Array.isArray(schema)) {
      schema.forEach(visit);
      return;
    }
    const object = schema as Record<string, unknown>;
    const properties = object.properties as Record<string, Record<string, unknown>> | undefined;
    for (const property of Object.values(properties ?? {})) {
      if (!('default' in property)) continue;
      const note = `Default: \`${JSON.stringify(property.default)}\`.`;
      property.description =
        typeof property.description === 'string' && property.description ? `${property.description} ${note}` : note;
      delete property.default;
    }
    for (const value of Object.values(object)) visit(value);
  };
  visit(document.components?.schemas);
}
