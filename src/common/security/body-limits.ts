import { json, urlencoded } from 'body-parser';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { OpenAPIObject } from '@nestjs/swagger';
import { PayloadTooLargeError } from '../errors/domain.error';
import { ERROR_TITLE, ErrorCode } from '../errors/error-codes';

/** A body limit for the routes a pattern matches (method and path, as express matches them: case-insensitive, optional trailing slash). */
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

/** Methods whose body no route reads: not parsed, so they can never answer 413 (or 400 for bad JSON). */
const BODYLESS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `512kb` or `64mb` (the only forms the env validation lets through) in bytes, as body-parser counts them. */
export function toBytes(limit: string): number {
  const match = /^(\d+)(kb|mb)$/i.exec(limit);
  if (!match) throw new Error(`Not a body limit: ${limit}`);
  return Number(match[1]) * (match[2].toLowerCase() === 'mb' ? 1024 * 1024 : 1024);
}

function matcher(path: string): RegExp {
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped}/?$`, 'i');
}

/**
 * JSON and form body parsing with a limit per route: task creation takes what its
 * documented payloads need (vectors), every other route stays small, so a large body is
 * only read where one is expected. A body over the limit is a 413 PAYLOAD_TOO_LARGE in
 * the documented error body, naming the limit and the setting.
 */
export function bodyParsers(limits: BodyLimits): RequestHandler {
  const make = (limit: string, setting: string) => {
    const parsers = [json({ limit }), urlencoded({ limit, extended: false })];
    const limitBytes = toBytes(limit);
    return (request: Request, response: Response, next: NextFunction) => {
      const run = (i: number): void => {
        if (i === parsers.length) return next();
        parsers[i](request, response, (error?: unknown) => {
          if ((error as { type?: string } | undefined)?.type === 'entity.too.large') {
            return next(new PayloadTooLargeError(limit, limitBytes, setting, Number((error as { length?: number }).length) || undefined));
          }
          if (error) return next(error);
          run(i + 1);
        });
      };
      run(0);
    };
  };
  const routes = limits.rules.map((rule) => ({ method: rule.method.toUpperCase(), path: matcher(rule.path), parse: make(rule.limit, rule.setting) }));
  const fallback = make(limits.fallback.limit, limits.fallback.setting);
  return (request, response, next) => {
    if (BODYLESS.has(request.method)) return next();
    const route = routes.find((r) => r.method === request.method && r.path.test(request.path));
    (route?.parse ?? fallback)(request, response, next);
  };
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
            examples: { PAYLOAD_TOO_LARGE: { value: { error: ERROR_TITLE[ErrorCode.PayloadTooLarge], message: example.message, code: example.code, details: example.details } } },
          },
        },
      };
    }
  }
  return document;
}
