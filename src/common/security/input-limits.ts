import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { InvalidRequestError } from '../errors/domain.error';

export type InputProblem = 'too-deep' | 'nul' | null;

/**
 * What is wrong with a parsed JSON value, if anything: nested deeper than `maxDepth` (a
 * scalar is depth 0, `{}` or `[]` depth 1), or a NUL character in a key or string, which
 * PostgreSQL can store in neither text nor jsonb. Iterative, so a hostile body cannot
 * overflow the stack here; it stops at the first problem.
 */
export function inspectJson(value: unknown, maxDepth: number): InputProblem {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node === 'string') {
      if (node.includes('\u0000')) return 'nul';
      continue;
    }
    if (node === null || typeof node !== 'object') continue;
    if (depth + 1 > maxDepth) return 'too-deep';
    if (Array.isArray(node)) {
      for (const child of node) stack.push([child, depth + 1]);
      continue;
    }
    for (const [key, child] of Object.entries(node)) {
      if (key.includes('\u0000')) return 'nul';
      stack.push([child, depth + 1]);
    }
  }
  return null;
}

export function jsonDepthExceeds(value: unknown, maxDepth: number): boolean {
  return inspectJson(value, maxDepth) === 'too-deep';
}

/**
 * Refuses, with 400 INVALID_REQUEST and before any validation or class-transformer walks
 * the input: bodies nested deeper than MAX_JSON_DEPTH, and NUL characters in the body or
 * the URL (PostgreSQL would answer them with an error, not a result).
 */
export function inputLimits(maxDepth: number): RequestHandler {
  return (request: Request, _response: Response, next: NextFunction) => {
    if (/%00|\u0000/.test(request.originalUrl)) {
      return next(new InvalidRequestError('The URL must not contain NUL (%00) characters', { reason: 'nul_character' }));
    }
    const body: unknown = request.body;
    const problem = body !== null && typeof body === 'object' ? inspectJson(body, maxDepth) : null;
    if (problem === 'too-deep') return next(new InvalidRequestError(`The request body nests deeper than ${maxDepth} levels`, { max_depth: maxDepth }));
    if (problem === 'nul') return next(new InvalidRequestError('The request body must not contain NUL (\\u0000) characters', { reason: 'nul_character' }));
    next();
  };
}
