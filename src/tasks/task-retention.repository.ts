import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service';

/** Rows per DELETE: each statement stays short, so a large backlog never holds locks for long. */
const DELETE_BATCH = 5000;

/** The retention sweep's deletes of finished tasks; their events and webhook deliveries go with them (ON DELETE CASCADE). */
@Injectable()
export class TaskRetentionRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Deletes tasks that finished (completed, failed, cancelled) before `before`, in batches; returns how many. */
  async deleteFinishedBefore(before: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await this.prisma.$executeRaw`
        DELETE FROM tasks WHERE id IN (
          SELECT id FROM tasks
          WHERE status IN ('completed', 'failed', 'cancelled') AND completed_at < ${before}
          LIMIT ${DELETE_BATCH})`;
      total += deleted;
      if (deleted < DELETE_BATCH) return total;
    }
  }
}
