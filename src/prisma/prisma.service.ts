import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { settledWithin } from '../common/utils/settled-within';
import type { AllConfig } from '../config/app.config';
import { PrismaClient } from '../generated/prisma/client';

/**
 * How long closing the pool may wait for queries still running. At that point they belong to
 * work abandoned when the workers' grace period ended (a handler that does not stop on its
 * signal, its task already handed back): waiting for them held a worker's exit 9-15 s past
 * its grace period. Their connections close with the process, which rolls their work back.
 */
const CLOSE_WAIT_MS = 500;

/**
 * The Prisma client over node-postgres (no Rust engine). It connects lazily on first
 * query, so the API can start — and answer 503 — while PostgreSQL is still down.
 *
 * `pool` is the same connection pool Prisma uses, for the few hot-path statements written
 * in SQL directly (task creation and worker transitions, see TaskWriteRepository): Prisma's
 * query building costs more CPU there than the database does, and one pool keeps the
 * connection budget the single DATABASE_POOL_SIZE the operator set.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  readonly pool: Pool;

  constructor(config: ConfigService<AllConfig, true>) {
    const { url, poolSize } = config.getOrThrow('database', { infer: true });
    const pool = new Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5000 });
    // An idle client losing its connection (PostgreSQL restarted) must not crash the process;
    // the pool drops it and the next query opens a new one.
    pool.on('error', () => undefined);
    super({ adapter: new PrismaPg(pool) });
    this.pool = pool;
  }

  /**
   * The last shutdown phase, not onModuleDestroy: workers hand their unfinished tasks back
   * to the queue in beforeApplicationShutdown, and a pool ended earlier cannot be reopened.
   */
  async onApplicationShutdown(): Promise<void> {
    const closing = (async () => {
      await this.$disconnect();
      await this.pool.end().catch(() => undefined);
    })();
    await settledWithin(closing, CLOSE_WAIT_MS);
  }
}
