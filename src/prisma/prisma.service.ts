import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';
import type { AllConfig } from '../config/app.config';

/**
 * The Prisma client over node-postgres (no Rust engine). It connects lazily on first
 * query, so the API can start — and answer 503 — while PostgreSQL is still down.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleDestroy {
  constructor(config: ConfigService<AllConfig, true>) {
    const { url, poolSize } = config.getOrThrow('database', { infer: true });
    super({
      adapter: new PrismaPg({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5000 }),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
  }
}
