import type { CorsOptions } from '@nestjs/common/interfaces/external/cors-options.interface';
import type { RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * Security headers (helmet) for every response. The CSP allows only this origin's scripts,
 * which is what the Swagger UI (/docs), Bull Board (/admin/queues) and the dashboard load;
 * inline styles stay allowed because Swagger UI and Bull Board use them. Nothing from other
 * origins is loaded (Bull Board falls back from its Google font to a system one), and no
 * page may be framed. `upgrade-insecure-requests` is left out: the service is often reached
 * over plain HTTP inside a cluster, where it would break the pages' own assets.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        scriptSrcAttr: ["'none'"],
      },
    },
  }) as RequestHandler;
}

/** CORS for browser callers on other origins: off unless CORS_ORIGINS lists them (or is `*`). */
export function corsOptions(origins: string[]): CorsOptions | null {
  if (origins.length === 0) return null;
  return {
    origin: origins.includes('*') ? '*' : origins,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['Content-Type', 'Authorization', 'X-API-Key', 'Idempotency-Key', 'Last-Event-ID'],
    exposedHeaders: ['Retry-After', 'Location', 'Idempotent-Replayed', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'],
    // Credentials travel in headers, never cookies.
    credentials: false,
    maxAge: 600,
  };
}
