import type { DocumentBuilder, OpenAPIObject } from '@nestjs/swagger';
import { errorResponses } from '../common/decorators/api-errors.decorator';
import { OPENAPI_PUBLIC, OPENAPI_ROLE } from '../common/decorators/auth.decorators';
import { ErrorCode } from '../common/errors/error-codes';
import { defaultRoleFor } from '../common/security/roles';

export const API_KEY_SCHEME = 'api-key';
export const BEARER_SCHEME = 'bearer';
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** The two ways to authenticate, so Swagger UI's "Authorize" fills either. Either one suffices. */
export function withSecuritySchemes(builder: DocumentBuilder): DocumentBuilder {
  return builder
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'X-API-Key',
        description: 'An API key (configured by its SHA-256 in API_KEYS)',
      },
      API_KEY_SCHEME,
    )
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        description: "An API key, or a JWT signed with JWT_SECRET / JWT_PUBLIC_KEY's private key",
      },
      BEARER_SCHEME,
    )
    .addSecurityRequirements(API_KEY_SCHEME)
    .addSecurityRequirements(BEARER_SCHEME);
}

/**
 * Finishes the document's security: public operations (`@Public()`, /metrics unless
 * METRICS_REQUIRE_AUTH) need no credentials; every other one states its role
 * (`x-required-role`, the same default by method as the guard) and documents 401, 403, 429
 * and 503 (the rate limiter's Redis not answering) with the shared error body.
 */
export function applyAuthToDocument(document: OpenAPIObject, options: { metricsRequireAuth: boolean }): OpenAPIObject {
  const authErrors = errorResponses(
    ErrorCode.Unauthorized,
    ErrorCode.Forbidden,
    ErrorCode.RateLimited,
    ErrorCode.ServiceUnavailable,
  );
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method] as
        (Record<string, unknown> & { responses: Record<string, unknown>; description?: string }) | undefined;
      if (!operation) continue;
      const isPublic = operation[OPENAPI_PUBLIC] === true || (path === '/metrics' && !options.metricsRequireAuth);
      Reflect.deleteProperty(operation, OPENAPI_PUBLIC);
      if (isPublic) {
        operation.security = [];
        continue;
      }
      const role = (operation[OPENAPI_ROLE] as string | undefined) ?? defaultRoleFor(method);
      operation[OPENAPI_ROLE] = role;
      const note = `Requires the \`${role}\` role when authentication is on.`;
      operation.description = operation.description ? `${operation.description}\n\n${note}` : note;
      for (const { status, description, content } of authErrors)
        operation.responses[String(status)] ??= { description, content };
    }
  }
  return document;
}
