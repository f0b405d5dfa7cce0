import { randomUUID } from 'node:crypto';
import type { PrismaService } from '../../src/prisma/prisma.service';
import { IdempotencyKeyClaim, IdempotencyKeyRepository } from '../../src/tasks/idempotency-key.repository';
import { uniqueKb, waitFor } from '../setup/helpers';
import { testPrisma } from '../setup/integration-db';

describe('IdempotencyKeyRepository', () => {
  let prisma: PrismaService;
  let keys: IdempotencyKeyRepository;
  const kbScope = uniqueKb('idem');

  const claimOf = (key: string, overrides: Partial<IdempotencyKeyClaim> = {}): IdempotencyKeyClaim => ({
    id: { caller: 'key:integration', kbScope, key },
    requestHash: 'a'.repeat(64),
    kind: 'single',
    expiresAt: new Date(Date.now() + 3600_000),
    ...overrides,
  });

  beforeAll(() => {
    prisma = testPrisma();
    keys = new IdempotencyKeyRepository(prisma);
  });

  afterAll(async () => {
    await prisma.pool.query('DELETE FROM idempotency_keys WHERE kb_scope = $1', [kbScope]);
    await prisma.onApplicationShutdown();
  });

  it('claims a key, runs the creation in its transaction and records the ids it created', async () => {
    const claim = claimOf('first');
    const ids = [randomUUID(), randomUUID()];
    const created = await keys.claimWithin(claim, async () => ids.map((id) => ({ id })));
    expect(created).toEqual(ids.map((id) => ({ id })));
    expect(await keys.find(claim.id)).toEqual({
      key: 'first',
      requestHash: claim.requestHash,
      kind: 'single',
      taskIds: ids,
      expiresAt: claim.expiresAt,
    });
  });

  it('refuses a second claim of the same key without running its creation', async () => {
    const claim = claimOf('taken');
    await keys.claimWithin(claim, async () => [{ id: randomUUID() }]);
    const create = jest.fn(async () => [{ id: randomUUID() }]);
    expect(await keys.claimWithin(claimOf('taken', { requestHash: 'b'.repeat(64) }), create)).toBeNull();
    expect(create).not.toHaveBeenCalled();
    expect((await keys.find(claim.id))?.requestHash).toBe(claim.requestHash);
  });

  it('keeps keys apart by caller and kb scope', async () => {
    const claim = claimOf('scoped');
    await keys.claimWithin(claim, async () => []);
    const otherCaller = { ...claim, id: { ...claim.id, caller: 'key:someone-else' } };
    expect(await keys.claimWithin(otherCaller, async () => [])).toEqual([]);
    await prisma.pool.query('DELETE FROM idempotency_keys WHERE caller = $1 AND kb_scope = $2', [
      'key:someone-else',
      kbScope,
    ]);
  });

  it('leaves no key behind when the creation fails', async () => {
    const claim = claimOf('rolled-back');
    await expect(keys.claimWithin(claim, async () => Promise.reject(new Error('admission refused')))).rejects.toThrow(
      'admission refused',
    );
    expect(await keys.find(claim.id)).toBeNull();
  });

  it('makes a concurrent claim of the same key wait for the first one, then refuse', async () => {
    const claim = claimOf('concurrent');
    let release!: () => void;
    let entered!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inCreation = new Promise<void>((resolve) => (entered = resolve));
    const first = keys.claimWithin(claim, async () => {
      entered();
      await gate;
      return [{ id: randomUUID() }];
    });
    // Once its creation runs, the first claim's row is inserted and not yet committed.
    await inCreation;
    const second = keys.claimWithin(claim, async () => [{ id: randomUUID() }]);
    await waitFor(
      async () =>
        (
          await prisma.pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%idempotency_keys%'`,
          )
        ).rows[0].n,
      (n) => n > 0,
      { what: 'the second claim to wait on the first one' },
    );
    release();
    const [won, lost] = await Promise.all([first, second]);
    expect(won).toHaveLength(1);
    expect(lost).toBeNull();
    expect((await keys.find(claim.id))?.taskIds).toEqual([won?.[0].id]);
  });

  it('deletes a key only once it has expired', async () => {
    const claim = claimOf('expiring', { expiresAt: new Date('2000-01-01T00:00:00Z') });
    await keys.claimWithin(claim, async () => []);
    await keys.deleteIfExpired(claim.id, new Date('1999-12-31T00:00:00Z'));
    expect(await keys.find(claim.id)).not.toBeNull();
    await keys.deleteIfExpired(claim.id, new Date('2000-01-02T00:00:00Z'));
    expect(await keys.find(claim.id)).toBeNull();
  });

  it('sweeps every key expired before a moment, and only those', async () => {
    const old = [
      claimOf('old-1', { expiresAt: new Date('2000-01-01T00:00:00Z') }),
      claimOf('old-2', { expiresAt: new Date('2000-01-01T00:00:01Z') }),
    ];
    const kept = claimOf('kept', { expiresAt: new Date('2000-01-03T00:00:00Z') });
    for (const claim of [...old, kept]) await keys.claimWithin(claim, async () => []);
    expect(await keys.deleteExpired(new Date('2000-01-02T00:00:00Z'))).toBe(2);
    expect(await keys.find(kept.id)).not.toBeNull();
    expect(await keys.find(old[0].id)).toBeNull();
  });
});
