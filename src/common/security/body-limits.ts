import type { IncomingMessage } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import type { OpenAPIObject } from '@nestjs/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError, InvalidRequestError, PayloadTooLargeError } from '../errors/domain.error';
import { ERROR_TITLE, ErrorCode } from '../errors/error-codes';
import { inspectBody } from './input-limits';

/** A body limit for one route (method and path, matched as the router matches them: case-insensitive, optional trailing slash). */
export interface BodyLimitRule {
  method: string;
  /** An OpenAPI path template, e.g. `/api/v1/tasks/batch`. */
  path: string;
  limit: string;
  /** The variable that sets it, named in the docs and in the 413 answer. */
  setting: string;
}

export interface BodyLimits {
  rules: BodyLimitRule[];
  /** Every other route: their bodies are a few fields. */
  fallback: { limit: string; setting: string };
}

/**
 * Task creation reads large bodies (vectors, batches of up to 1,000 tasks; a batch shares
 * one limit); every other route's body is a few fields and stays small.
 */
export function routeBodyLimits(app: { taskBodyLimit: string; bodyLimit: string }): BodyLimits {
  const create = { limit: app.taskBodyLimit, setting: 'TASK_BODY_LIMIT' };
  return {
    rules: [
      { method: 'POST', path: '/api/v1/tasks', ...create },
      { method: 'POST', path: '/api/v1/tasks/batch', ...create },
    ],
    fallback: { limit: app.bodyLimit, setting: 'BODY_LIMIT' },
  };
}

/** `512kb` or `64mb` (the only forms the env validation lets through) in bytes. */
export function toBytes(limit: string): number {
  const match = /^(\d+)(kb|mb)$/i.exec(limit);
  if (!match) throw new Error(`Not a body limit: ${limit}`);
  return Number(match[1]) * (match[2].toLowerCase() === 'mb' ? 1024 * 1024 : 1024);
}

/** A route's limit as the parser applies it; kept on the route's config (see installBodyParsers). */
interface RouteBodyLimit {
  limit: string;
  bytes: number;
  setting: string;
}

const BODY_LIMIT = 'bodyLimit';

function normalizedPath(path: string): string {
  return path.replace(/\/+$/, '').toLowerCase() || '/';
}

/**
 * Reads a body up to `limit`: a declared Content-Length over it is refused before a byte is
 * read, a stream that grows past it as soon as it does. The bytes are decoded once, at the end.
 */
function readBody(request: FastifyRequest, payload: IncomingMessage, limit: RouteBodyLimit): Promise<string> {
  const declared = Number(request.headers['content-length']);
  if (declared > limit.bytes)
    return Promise.reject(new PayloadTooLargeError(limit.limit, limit.bytes, limit.setting, declared));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit.bytes) {
        cleanup();
        reject(
          new PayloadTooLargeError(
            limit.limit,
            limit.bytes,
            limit.setting,
            Number.isNaN(declared) ? undefined : declared,
          ),
        );
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (error?: Error) => {
      cleanup();
      if (error) {
        reject(new InvalidRequestError('The request body could not be read', { reason: 'body.aborted' }));
        return;
      }
      resolve(Buffer.concat(chunks, received).toString('utf8'));
    };
    const cleanup = () => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onEnd);
    };
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onEnd);
  });
}

/** A charset other than UTF-8 is refused (415), as body-parser did: the body is decoded as UTF-8 only. */
function refuseCharset(contentType: string | undefined): void {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new DomainError(ErrorCode.UnsupportedMediaType, `unsupported charset "${charset.toUpperCase()}"`, {
      reason: 'charset.unsupported',
    });
  }
}

/**
 * Body parsing with a limit per route: task creation takes what its documented payloads
 * need (vectors), every other route stays small, so a large body is only read where one is
 * expected. A body over the limit is a 413 PAYLOAD_TOO_LARGE in the documented error body,
 * naming the limit and the setting. JSON is parsed with JSON.parse and then inspected
 * (inspectBody): reserved keys such as `__proto__` and `constructor` are refused there with
 * the field named, so Fastify's own secure-json-parse is not used. Other media types get
 * 415 UNSUPPORTED_MEDIA_TYPE from Fastify; an empty JSON body is `{}`, as body-parser made it.
 */
export function installBodyParsers(fastify: FastifyInstance, limits: BodyLimits, maxDepth: number): void {
  const rules = new Map(
    limits.rules.map((rule) => [`${rule.method.toUpperCase()} ${normalizedPath(rule.path)}`, rule]),
  );
  const fallback: RouteBodyLimit = {
    limit: limits.fallback.limit,
    bytes: toBytes(limits.fallback.limit),
    setting: limits.fallback.setting,
  };
  fastify.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    const rule = methods.map((method) => rules.get(`${method} ${normalizedPath(route.url)}`)).find(Boolean);
    if (!rule) return;
    const limit: RouteBodyLimit = { limit: rule.limit, bytes: toBytes(rule.limit), setting: rule.setting };
    route.config = { ...(route.config as object), [BODY_LIMIT]: limit };
  });
  const limitOf = (request: FastifyRequest) =>
    ((request.routeOptions.config as unknown as Record<string, unknown> | undefined)?.[BODY_LIMIT] as
      RouteBodyLimit | undefined) ?? fallback;

  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', async (request: FastifyRequest, payload: IncomingMessage) => {
    refuseCharset(request.headers['content-type']);
    const text = await readBody(request, payload, limitOf(request));
    if (text.trim() === '') return {};
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new InvalidRequestError((error as Error).message, { reason: 'entity.parse.failed' });
    }
    inspectBody(body, maxDepth);
    return body;
  });
  fastify.addContentTypeParser(
    'application/x-www-form-urlencoded',
    async (request: FastifyRequest, payload: IncomingMessage) => {
      refuseCharset(request.headers['content-type']);
      const body: unknown = { ...parseQuery(await readBody(request, payload, limitOf(request))) };
      inspectBody(body, maxDepth);
      return body;
    },
  );
}

const WITH_BODY = ['put', 'post', 'delete', 'patch'] as const;

/** Documents 413 (with the shared error body and the route's own limit) on every operation that reads a body. */
export function documentBodyLimits(document: OpenAPIObject, limits: BodyLimits): OpenAPIObject {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of WITH_BODY) {
      const operation = item[method];
      if (!operation) continue;
      const rule = limits.rules.find((r) => r.method.toLowerCase() === method && r.path === path) ?? limits.fallback;
      const example = new PayloadTooLargeError(rule.limit, toBytes(rule.limit), rule.setting);
      operation.responses['413'] = {
        // The codes, as every error response lists them; the example's message names this route's limit.
        description: ErrorCode.PayloadTooLarge,
        content: {
          'application/json': {
            schema: { $ref: '#/components/schemas/ErrorResponseDto' },
            examples: {
              PAYLOAD_TOO_LARGE: {
                value: {
                  error: ERROR_TITLE[ErrorCode.PayloadTooLarge],
                  message: example.message,
                  code: example.code,
                  details: example.details,
                },
              },
            },
          },
        },
      };
    }
  }
  return document;
}
