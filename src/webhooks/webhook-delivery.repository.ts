import { Injectable } from '@nestjs/common';
import type { WebhookDelivery } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import type { TaskRecord } from '../task-types/task-record';
import { toTaskRecord } from '../task-types/task-rows';
import type { TaskStatus } from '../task-types/task-types';

export type WebhookDeliveryRecord = WebhookDelivery;

export interface NewWebhookDelivery {
  taskId: string;
  eventId: bigint;
  attempt: number;
  url: string;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  succeeded: boolean;
}

/** A terminal event whose webhook has to be queued, with its task as it is now. */
export interface PendingWebhook {
  eventId: bigint;
  status: TaskStatus;
  task: TaskRecord;
}

/**
 * The webhook outbox and the record of every delivery attempt. The outbox is the
 * `webhook_pending` flag the tasks trigger sets on a terminal event of a task with a
 * callback_url — written in the same transaction as the state change, so no terminal state
 * is ever missed, whoever wrote it.
 */
@Injectable()
export class WebhookDeliveryRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Claims up to `limit` pending events (other processes skip them meanwhile), hands them to
   * `enqueue`, and clears their flag only if that succeeded — otherwise they stay pending
   * for the next pass. `enqueue` must be idempotent: a crash after it and before the commit
   * hands the same events out again.
   */
  async drainOutbox(limit: number, enqueue: (pending: PendingWebhook[]) => Promise<void>): Promise<number> {
    // The usual case is an empty outbox: one index probe instead of a transaction. The literal
    // predicate matters: Prisma binds `webhook_pending = $1`, and a generic plan for that cannot
    // use the partial index, so it scanned the whole history (~30 ms at 300k events) every poll.
    const { rowCount } = await this.prisma.pool.query('SELECT 1 FROM task_events WHERE webhook_pending LIMIT 1');
    if (!rowCount) return 0;
    return this.prisma.$transaction(async (tx) => {
      const events = await tx.$queryRaw<{ id: bigint; task_id: string; status: TaskStatus }[]>`
        SELECT id, task_id, status FROM task_events WHERE webhook_pending ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
      if (events.length === 0) return 0;
      const tasks = await tx.task.findMany({ where: { id: { in: [...new Set(events.map((e) => e.task_id))] } } });
      const byId = new Map(tasks.map((task) => [task.id, toTaskRecord(task)]));
      await enqueue(
        events.flatMap((e) =>
          byId.has(e.task_id) ? [{ eventId: e.id, status: e.status, task: byId.get(e.task_id)! }] : [],
        ),
      );
      await tx.taskEvent.updateMany({
        where: { id: { in: events.map((e) => e.id) } },
        data: { webhookPending: false },
      });
      return events.length;
    });
  }

  async record(delivery: NewWebhookDelivery): Promise<void> {
    await this.prisma.webhookDelivery.create({ data: delivery });
  }

  findByTask(taskId: string): Promise<WebhookDeliveryRecord[]> {
    return this.prisma.webhookDelivery.findMany({ where: { taskId }, orderBy: { id: 'asc' } });
  }

  /** The secret a task's webhooks are signed with; undefined when the task no longer exists. */
  async callbackSecret(taskId: string): Promise<string | null | undefined> {
    const task = await this.prisma.task.findUnique({ where: { id: taskId }, select: { callbackSecret: true } });
    return task === null ? undefined : task.callbackSecret;
  }
}
