import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service';

/** The one fact tenancy checks need about a task: which knowledge base it belongs to. */
@Injectable()
export class TaskOwnershipRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The task's kb, or null when no task has this id (`taskId` must be a UUID: the column is one). */
  async kbOf(taskId: string): Promise<string | null> {
    return (await this.prisma.task.findUnique({ where: { id: taskId }, select: { kbId: true } }))?.kbId ?? null;
  }
}
