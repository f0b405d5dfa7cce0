import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DomainError, InvalidRequestError } from '../common/errors/domain.error';
import { ErrorCode } from '../common/errors/error-codes';
import type { AllConfig } from '../config/app.config';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { TaskRecord, TasksRepository } from './tasks.repository';

export type IdempotentKind = 'single' | 'batch';

export interface IdempotentOutcome {
  tasks: TaskRecord[];
  /** True when the tasks were created by an earlier request with the same key. */
  replayed: boolean;
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * `Idempotency-Key` on create and batch: the first request with a key stores its tasks and
 * the key in one transaction; a repeat with the same body gets the original tasks back, a
 * repeat with another body gets 409. Two concurrent requests with one key cannot both
 * create: the second waits on the first's uncommitted key row, then replays it.
 */
@Injectable()
export class IdempotencyService {
  private readonly ttlMs: number;

  constructor(
    private readonly prisma: PrismaService,
    private readonly tasks: TasksRepository,
    config: ConfigService<AllConfig, true>,
  ) {
    this.ttlMs = config.getOrThrow('retention.idempotencyTtlHours', { infer: true }) * 3600 * 1000;
  }

  async run(
    key: string,
    kind: IdempotentKind,
    body: unknown,
    create: (tx: Prisma.TransactionClient) => Promise<TaskRecord[]>,
  ): Promise<IdempotentOutcome> {
    if (!KEY_PATTERN.test(key)) {
      throw new InvalidRequestError('Idempotency-Key must be 1 to 255 visible ASCII characters', { fields: { 'Idempotency-Key': ['invalid'] } });
    }
    const requestHash = hashRequest(kind, body);
    const earlier = await this.prisma.idempotencyKey.findUnique({ where: { key } });
    if (earlier && earlier.expiresAt > new Date()) return this.replay(earlier, kind, requestHash);
    if (earlier) await this.prisma.idempotencyKey.deleteMany({ where: { key, expiresAt: { lte: new Date() } } });

    const created = await this.prisma.$transaction(async (tx) => {
      const claimed = await tx.$executeRaw`
        INSERT INTO idempotency_keys (key, request_hash, kind, task_ids, expires_at)
        VALUES (${key}, ${requestHash}, ${kind}, '{}', ${new Date(Date.now() + this.ttlMs)})
        ON CONFLICT (key) DO NOTHING`;
      if (claimed === 0) return null;
      const tasks = await create(tx);
      await tx.idempotencyKey.update({ where: { key }, data: { taskIds: tasks.map((t) => t.id) } });
      return tasks;
    });
    if (created) return { tasks: created, replayed: false };
    // Another request with this key committed first.
    return this.replay(await this.prisma.idempotencyKey.findUniqueOrThrow({ where: { key } }), kind, requestHash);
  }

  private async replay(row: { requestHash: string; kind: string; taskIds: string[]; key: string }, kind: IdempotentKind, requestHash: string): Promise<IdempotentOutcome> {
    if (row.requestHash !== requestHash || row.kind !== kind) {
      throw new DomainError(ErrorCode.IdempotencyKeyReused, 'This Idempotency-Key was already used with a different request', {
        idempotency_key: row.key,
      });
    }
    return { tasks: await this.tasks.findByIds(row.taskIds), replayed: true };
  }
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
