import type { Prisma } from '../generated/prisma/client';

/**
 * An open database transaction that repositories join. Services pass it along (from one
 * repository's `…Within` method to another's write) without reading or querying it, so the
 * Prisma type stays a name here instead of an import in every service that composes writes.
 */
export type Transaction = Prisma.TransactionClient;
