import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DomainError, InvalidRequestError } from '../common/errors/domain.error';
import { ErrorCode } from '../common/errors/error-codes';
import type { AllConfig } from '../config/app.config';
import type { UnitOfWork } from '../prisma/unit-of-work';
import { TaskQueryRepository } from '../task-engine/task-query.repository';
import type { TaskRecord } from '../task-types/task-record';
import { IdempotencyKeyRecord, IdempotencyKeyRepository } from './idempotency-key.repository';

export type IdempotentKind = 'single' | 'batch';

/** An Idempotency-Key as sent, and who sent it. */
export interface IdempotencyRequest {
  key: string;
  /** The caller's principal id (`key:<name>`, `jwt:<sub>`); null when authentication is off. */
  caller: string | null;
}

export interface IdempotentOutcome {
  tasks: TaskRecord[];
  /** True when the tasks were created by an earlier request with the same key. */
  replayed: boolean;
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
/** The caller of every request when authentication is off; principal ids always hold a `:`. */
const ANONYMOUS = 'anonymous';
/** Longer callers (token subjects are unbounded) are stored by their digest, so the key's index entry stays small. */
const MAX_CALLER_LENGTH = 200;

/**
 * `Idempotency-Key` on create and batch: the first request with a key stores its tasks and
 * the key in one transaction; a repeat with the same body gets the original tasks back, a
 * repeat with another body gets 409. Two concurrent requests with one key cannot both
 * create: the second waits on the first's uncommitted key row, then replays it.
 *
 * A key is scoped by its caller and kb (as Stripe scopes keys by account): the same key from
 * another API key, token subject or kb is another request, never a 409 or a replay of
 * someone else's task — so keys cannot be used to probe other tenants.
 */
@Injectable()
export class IdempotencyService {
  private readonly ttlMs: number;

  constructor(
    private readonly keys: IdempotencyKeyRepository,
    private readonly tasks: TaskQueryRepository,
    config: ConfigService<AllConfig, true>,
  ) {
    this.ttlMs = config.getOrThrow('retention.idempotencyTtlHours', { infer: true }) * 3600 * 1000;
  }

  async run(
    request: IdempotencyRequest,
    kind: IdempotentKind,
    kbIds: readonly string[],
    body: unknown,
    create: (tx: UnitOfWork) => Promise<TaskRecord[]>,
  ): Promise<IdempotentOutcome> {
    const { key } = request;
    if (!KEY_PATTERN.test(key)) {
      throw new InvalidRequestError('Idempotency-Key must be 1 to 255 visible ASCII characters', {
        fields: { 'Idempotency-Key': ['invalid'] },
      });
    }
    const id = { caller: callerScope(request.caller), kbScope: kbScope(kbIds), key };
    const requestHash = hashRequest(kind, body);
    const earlier = await this.keys.find(id);
    if (earlier && earlier.expiresAt > new Date()) return this.replay(earlier, kind, requestHash);
    if (earlier) await this.keys.deleteIfExpired(id, new Date());

    const created = await this.keys.claimWithin(
      { id, requestHash, kind, expiresAt: new Date(Date.now() + this.ttlMs) },
      create,
    );
    if (created) return { tasks: created, replayed: false };
    // Another request of this caller with this key committed first.
    const winner = await this.keys.find(id);
    if (!winner) throw new Error(`Idempotency key ${key} was claimed by another request but is gone`);
    return this.replay(winner, kind, requestHash);
  }

  private async replay(
    row: IdempotencyKeyRecord,
    kind: IdempotentKind,
    requestHash: string,
  ): Promise<IdempotentOutcome> {
    if (row.requestHash !== requestHash || row.kind !== kind) {
      throw new DomainError(
        ErrorCode.IdempotencyKeyReused,
        'This Idempotency-Key was already used with a different request',
        {
          idempotency_key: row.key,
        },
      );
    }
    return { tasks: await this.tasks.findByIds(row.taskIds), replayed: true };
  }
}

function callerScope(caller: string | null): string {
  if (caller === null) return ANONYMOUS;
  return caller.length <= MAX_CALLER_LENGTH ? caller : `sha256:${createHash('sha256').update(caller).digest('hex')}`;
}

/** The kb, or for a batch over several, `*` and the digest of their sorted ids (no kb id starts with `*`). */
function kbScope(kbIds: readonly string[]): string {
  const distinct = [...new Set(kbIds)].sort();
  return distinct.length === 1 ? distinct[0] : `*${createHash('sha256').update(distinct.join(',')).digest('hex')}`;
}

/** The same JSON with keys in any order hashes the same. */
function hashRequest(kind: IdempotentKind, body: unknown): string {
  return createHash('sha256').update(kind).update('\n').update(canonicalJson(body)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
