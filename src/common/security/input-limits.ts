import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { InvalidRequestError } from '../errors/domain.error';

export type InputProblemKind = 'too-deep' | 'nul' | 'lone-surrogate' | 'reserved-key' | 'out-of-range';

/** What is wrong with a JSON value and where: `path` as validation names fields (`[0].payload.note[1]`; '' for the whole body). */
export interface InputProblem {
  kind: InputProblemKind;
  path: string;
}

/**
 * Keys JavaScript gives a meaning: class-transformer calls `value.constructor` as a class
 * ("targetType is not a constructor", a 500), and `__proto__` / `constructor.prototype` are
 * the prototype-pollution paths. Refused as key names anywhere in a body.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** PostgreSQL stores neither NUL (text, jsonb) nor a lone UTF-16 surrogate (jsonb's `\ud800`). */
function stringProblem(text: string): 'nul' | 'lone-surrogate' | null {
  if (text.includes('\u0000')) return 'nul';
  return LONE_SURROGATE.test(text) ? 'lone-surrogate' : null;
}

interface Frame {
  node: object;
  depth: number;
  parent: Frame | null;
  key: string | number | null;
}

/** A key as it can be shown in an error body: NUL and lone surrogates as `\uXXXX` text. */
function printable(key: string): string {
  return key.replace(
    /[\u0000]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Built only once a problem is found, so a body of a million numbers costs no path strings. */
function pathOf(frame: Frame | null, last?: string | number): string {
  const keys: (string | number)[] = last === undefined ? [] : [last];
  for (let f = frame; f && f.key !== null; f = f.parent) keys.unshift(f.key);
  return keys.reduce<string>(
    (path, key) => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${printable(key)}` : printable(key)),
    '',
  );
}

/**
 * The first problem in a parsed JSON value, if any: nested deeper than `maxDepth` (a scalar
 * is depth 0, `{}` or `[]` depth 1), a NUL or lone surrogate in a key or string, a
 * reserved key name, or a number JSON.parse turned into Infinity (1e400), which would be
 * stored as null. Iterative, so a hostile body cannot overflow the stack here.
 */
export function inspectJson(value: unknown, maxDepth: number): InputProblem | null {
  if (typeof value === 'string') {
    const kind = stringProblem(value);
    return kind ? { kind, path: '' } : null;
  }
  if (value === null || typeof value !== 'object') return null;
  const stack: Frame[] = [{ node: value, depth: 1, parent: null, key: null }];
  /** A child's own problem, or null after queueing it when it is a container. */
  const visit = (frame: Frame, key: string | number, child: unknown): InputProblem | null => {
    if (typeof child === 'string') {
      const kind = stringProblem(child);
      return kind ? { kind, path: pathOf(frame, key) } : null;
    }
    if (typeof child === 'number')
      return Number.isFinite(child) ? null : { kind: 'out-of-range', path: pathOf(frame, key) };
    if (child !== null && typeof child === 'object')
      stack.push({ node: child, depth: frame.depth + 1, parent: frame, key });
    return null;
  };
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.depth > maxDepth) return { kind: 'too-deep', path: pathOf(frame) };
    if (Array.isArray(frame.node)) {
      // An index loop: vector bodies hold millions of numbers, and an entries() iterator costs several times more.
      const list = frame.node as unknown[];
      for (let i = 0; i < list.length; i++) {
        const problem = visit(frame, i, list[i]);
        if (problem) return problem;
      }
      continue;
    }
    for (const key of Object.keys(frame.node)) {
      const kind: InputProblemKind | null = RESERVED_KEYS.has(key) ? 'reserved-key' : stringProblem(key);
      const problem = kind
        ? { kind, path: pathOf(frame, key) }
        : visit(frame, key, (frame.node as Record<string, unknown>)[key]);
      if (problem) return problem;
    }
  }
  return null;
}

export function jsonDepthExceeds(value: unknown, maxDepth: number): boolean {
  return inspectJson(value, maxDepth)?.kind === 'too-deep';
}

const REFUSAL: Record<Exclude<InputProblemKind, 'too-deep'>, { reason: string; rule: string }> = {
  nul: { reason: 'nul_character', rule: 'must not contain NUL (\\u0000) characters' },
  'lone-surrogate': {
    reason: 'lone_surrogate',
    rule: 'must not contain a lone UTF-16 surrogate (\\ud800-\\udfff without its pair)',
  },
  'reserved-key': { reason: 'reserved_key', rule: `is a reserved key name (${[...RESERVED_KEYS].join(', ')})` },
  'out-of-range': { reason: 'number_out_of_range', rule: 'must be a number within ±1.79e308' },
};

function refusal(problem: InputProblem, maxDepth: number): InvalidRequestError {
  if (problem.kind === 'too-deep')
    return new InvalidRequestError(`The request body nests deeper than ${maxDepth} levels`, { max_depth: maxDepth });
  const { reason, rule } = REFUSAL[problem.kind];
  const field = problem.path || 'body';
  return new InvalidRequestError(`Invalid field: ${field}`, { reason, fields: { [field]: [`${field} ${rule}`] } });
}

/**
 * Names every object inherits (`toString`, `valueOf`, `hasOwnProperty`, …). As a request's own
 * field, class-validator's whitelist does not see them (the DTO "has" them through its
 * prototype), so they would be dropped without a word where every other unknown field is a
 * 400. Only the request's own level is checked — a body, each item of a body array, a query —
 * never inside `payload`, which is the caller's data and keeps such keys.
 */
const INHERITED_NAMES: ReadonlySet<string> = new Set(
  Object.getOwnPropertyNames(Object.prototype).filter((name) => !RESERVED_KEYS.has(name)),
);

function inheritedFieldOf(value: unknown): string | null {
  const levels: [string, unknown][] = Array.isArray(value) ? value.map((item, i) => [`[${i}].`, item]) : [['', value]];
  for (const [prefix, level] of levels) {
    if (level === null || typeof level !== 'object' || Array.isArray(level)) continue;
    const name = Object.keys(level).find((key) => INHERITED_NAMES.has(key));
    if (name) return `${prefix}${name}`;
  }
  return null;
}

function refuseInput(value: unknown, maxDepth: number): void {
  const problem = inspectJson(value, maxDepth);
  if (problem) throw refusal(problem, maxDepth);
  const inherited = inheritedFieldOf(value);
  if (inherited)
    throw new InvalidRequestError(`Invalid field: ${inherited}`, {
      fields: { [inherited]: [`property ${inherited.replace(/^\[\d+\]\./, '')} should not exist`] },
    });
}

/**
 * Refuses, with 400 INVALID_REQUEST naming the field and before any validation or
 * class-transformer walks the input (so nothing is stored): bodies nested deeper than
 * MAX_JSON_DEPTH, NUL characters and lone surrogates (PostgreSQL would answer them with
 * an error, not a result), reserved key names (in the body and the query), numbers beyond
 * a double, and fields named after inherited members. Called by the body's parser
 * (installBodyParsers); refuseHostileUrl does the same for the URL and the query.
 */
export function inspectBody(body: unknown, maxDepth: number): void {
  refuseInput(body, maxDepth);
}

/**
 * The URL's part of the checks, as an onRequest hook: before routing, so every path (an
 * unknown one too) is refused alike — NUL in the URL, and the query's keys and values as
 * a body's. A URL without a query costs two substring scans. The refusal is sent from here
 * (`refuse`), not passed to the error handler of the route's plugin, which for Bull Board's
 * routes is Bull Board's own.
 */
export function refuseHostileUrl(
  maxDepth: number,
  refuse: (reply: FastifyReply, error: Error) => void,
): onRequestHookHandler {
  return (request: FastifyRequest, reply, done) => {
    const url = request.url;
    if (url.includes('%00') || url.includes('\u0000')) {
      refuse(
        reply,
        new InvalidRequestError('The URL must not contain NUL (%00) characters', {
          reason: 'nul_character',
          fields: { url: ['url must not contain NUL (%00) characters'] },
        }),
      );
      return;
    }
    if (!url.includes('?')) {
      done();
      return;
    }
    try {
      // The validation pipe would drop `?constructor=` and its kin without a word, where every other unknown query key is a 400.
      refuseInput(request.query, maxDepth);
    } catch (error) {
      refuse(reply, error as Error);
      return;
    }
    done();
  };
}
