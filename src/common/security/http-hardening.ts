import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import helmet, { HelmetOptions } from 'helmet';

/**
 * Security headers (helmet) for every response. The CSP allows only this origin's scripts,
 * which is what the Swagger UI (/docs), Bull Board (/admin/queues) and the dashboard load;
 * inline styles stay allowed because Swagger UI and Bull Board use them. Nothing from other
 * origins is loaded (Bull Board falls back from its Google font to a system one), and no
 * page may be framed. `upgrade-insecure-requests` is left out: the service is often reached
 * over plain HTTP inside a cluster, where it would break the pages' own assets.
 */
const HELMET_OPTIONS: HelmetOptions = {
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
};

/**
 * Helmet's headers, computed once: with these options every one of them is a constant, so
 * each response gets a copy of a ready object instead of helmet (or @fastify/helmet, which
 * builds a new helmet middleware for every request) working them out again.
 */
function securityHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => {
      Reflect.deleteProperty(headers, name.toLowerCase());
    },
  };
  helmet(HELMET_OPTIONS)({} as IncomingMessage, response as unknown as ServerResponse, () => undefined);
  return headers;
}

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze(securityHeaders());

/** Sends the security headers on every response, errors and 404s included. */
export function installSecurityHeaders(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (_request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    done();
  });
}

/** CORS for browser callers on other origins: off unless CORS_ORIGINS lists them (or is `*`). */
export function corsOptions(origins: string[]): FastifyCorsOptions | null {
  if (origins.length === 0) return null;
  return {
    origin: origins.includes('*') ? '*' : origins,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['Content-Type', 'Authorization', 'X-API-Key', 'Idempotency-Key', 'Last-Event-ID'],
    exposedHeaders: [
      'Retry-After',
      'Location',
      'Idempotent-Replayed',
      'X-RateLimit-Limit',
      'X-RateLimit-Remaining',
      'X-RateLimit-Reset',
    ],
    // Credentials travel in headers, never cookies.
    credentials: false,
    maxAge: 600,
  };
}
