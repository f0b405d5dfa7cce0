import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service';

/** The database side of the health probes. */
@Injectable()
export class DatabaseHealthRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * One round trip to PostgreSQL, straight on the pool both Prisma and the hot path use: a
   * round trip is what is checked, not Prisma's query pipeline.
   */
  async ping(): Promise<void> {
    await this.prisma.pool.query('SELECT 1');
  }
}
