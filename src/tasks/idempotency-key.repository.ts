import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service';
import type { UnitOfWork } from '../prisma/unit-of-work';

/** An idempotency key's identity: the key as sent, scoped by its caller and kb. */
export interface IdempotencyKeyId {
  caller: string;
  kbScope: string;
  key: string;
}

/** What a key remembers of the request that first used it. */
export interface IdempotencyKeyRecord {
  key: string;
  requestHash: string;
  kind: string;
  taskIds: string[];
  expiresAt: Date;
}

/** A key to claim: the request it stands for and when it stops being remembered. */
export interface IdempotencyKeyClaim {
  id: IdempotencyKeyId;
  requestHash: string;
  kind: string;
  expiresAt: Date;
}

/** Table idempotency_keys: one row per (caller, kb scope, key), holding the ids of the tasks it created. */
@Injectable()
export class IdempotencyKeyRepository {
  constructor(private readonly prisma: PrismaService) {}

  async find(id: IdempotencyKeyId): Promise<IdempotencyKeyRecord | null> {
    return this.prisma.idempotencyKey.findUnique({
      where: { caller_kbScope_key: id },
      select: { key: true, requestHash: true, kind: true, taskIds: true, expiresAt: true },
    });
  }

  /** Removes the key if it has expired by `now`; a key renewed meanwhile by another request stays. */
  async deleteIfExpired(id: IdempotencyKeyId, now: Date): Promise<void> {
    await this.prisma.idempotencyKey.deleteMany({ where: { ...id, expiresAt: { lte: now } } });
  }

  /**
   * Claims the key and runs `create` in the same transaction, recording the ids of what it
   * created on the key. Returns null, having created nothing, when the key is already taken:
   * a concurrent claim of the same key waits on this one's uncommitted row, then finds it.
   */
  async claimWithin<T extends { id: string }>(
    claim: IdempotencyKeyClaim,
    create: (tx: UnitOfWork) => Promise<T[]>,
  ): Promise<T[] | null> {
    const { id } = claim;
    return this.prisma.$transaction(async (tx) => {
      const claimed = await tx.$executeRaw`
        INSERT INTO idempotency_keys (caller, kb_scope, key, request_hash, kind, task_ids, expires_at)
        VALUES (${id.caller}, ${id.kbScope}, ${id.key}, ${claim.requestHash}, ${claim.kind}, '{}', ${claim.expiresAt})
        ON CONFLICT (caller, kb_scope, key) DO NOTHING`;
      if (claimed === 0) return null;
      const created = await create(tx);
      await tx.idempotencyKey.update({
        where: { caller_kbScope_key: id },
        data: { taskIds: created.map((t) => t.id) },
      });
      return created;
    });
  }

  /** Every key expired before `now`; returns how many were removed. */
  async deleteExpired(now: Date): Promise<number> {
    return (await this.prisma.idempotencyKey.deleteMany({ where: { expiresAt: { lt: now } } })).count;
  }
}
