import type { Prisma } from '../generated/prisma/client';

/**
 * A database transaction handed between repositories, so that writes of several
 * aggregates (an idempotency key and its tasks, a parent and its children) commit together.
 * Only repositories look inside it; everyone else passes it along.
 */
export type UnitOfWork = Prisma.TransactionClient;
