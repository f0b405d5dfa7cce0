import { Injectable, Logger } from '@nestjs/common';
import { countOf } from '../common/utils/plural';
import { Prisma } from '../generated/prisma/client';
import { TaskMetricsService } from '../metrics/task-metrics.service';
import { PrismaService } from '../prisma/prisma.service';
import { TaskQueueService } from '../queues/task-queue.service';
import { TaskStatus, TaskType, TERMINAL_STATUSES } from '../queues/task-types';
import { NewTask, TaskRecord, TasksRepository } from './tasks.repository';
import { errorMessage } from '../common/errors/error-message';

/** The follow-up stages a document_processing task with `pipeline: true` runs, in order. */
export const PIPELINE_STAGES = [TaskType.embedding_generation, TaskType.vector_storage, TaskType.knowledge_indexing] as const;

type Tx = Prisma.TransactionClient;

/** What one transaction on a family changed: children created or retried, the parent ended. */
interface FamilyChanges {
  created: TaskRecord[];
  retried: TaskRecord[];
  ended: TaskRecord[];
}

/**
 * Parents and their children: a batch_processing task waits for the tasks it created, a
 * pipelined document_processing task runs its follow-up stages one after another. A parent
 * stays `processing` (holding no worker) while children run; each time a child settles
 * the parent is re-evaluated under a per-parent advisory lock, so concurrent children
 * never double-create a stage or double-finish the parent. Cancelling a parent cancels
 * its children.
 */
@Injectable()
export class TaskFamilyService {
  private readonly logger = new Logger(TaskFamilyService.name);

  constructor(
    private readonly prisma: PrismaService,
    private readonly tasks: TasksRepository,
    private readonly queue: TaskQueueService,
    private readonly metrics: TaskMetricsService,
  ) {}

  isPipelineParent(task: Pick<TaskRecord, 'taskType' | 'payload'>): boolean {
    return task.taskType === TaskType.document_processing && (task.payload as { pipeline?: unknown })?.pipeline === true;
  }

  /**
   * Called by a parent's handler: creates the children it does not have yet (idempotent, so
   * a re-run after a crash or a manual retry does not duplicate them), retries those that
   * failed, and re-evaluates the parent.
   */
  async startChildren(parent: TaskRecord, children: NewTask[]): Promise<void> {
    const changes = await this.locked(parent.id, async (tx, changes) => {
      const existing = await this.children(tx, parent.id);
      if (this.isPipelineParent(parent)) return this.advancePipeline(tx, parent, existing, true, changes);
      if (existing.length === 0) changes.created.push(...(await this.create(tx, parent, children)));
      else changes.retried.push(...(await this.retryUnsuccessful(tx, existing)));
    });
    await this.dispatch([...changes.created, ...changes.retried]);
    await this.childSettled(parent.id);
  }

  /** Re-evaluates a parent after one of its children reached a terminal state. */
  async childSettled(parentId: string): Promise<void> {
    let finishedParent: TaskRecord | null = null;
    const changes = await this.locked(parentId, async (tx, changes) => {
      const parent = await tx.task.findUnique({ where: { id: parentId } });
      if (parent?.status !== TaskStatus.processing) return;
      const children = await this.children(tx, parentId);
      if (this.isPipelineParent(parent)) await this.advancePipeline(tx, parent, children, false, changes);
      else await this.settleBatch(tx, parent, children, changes);
      finishedParent = await this.reload(tx, parent);
    });
    await this.dispatch(changes.created);
    const parent = finishedParent as TaskRecord | null;
    if (parent && TERMINAL_STATUSES.includes(parent.status) && parent.parentId) await this.childSettled(parent.parentId);
  }

  /** Cancels every unfinished descendant of a cancelled task and stops their jobs. */
  async cancelChildren(parentId: string): Promise<number> {
    const children = await this.prisma.task.findMany({
      where: { parentId, status: { in: [TaskStatus.queued, TaskStatus.processing] } },
    });
    let cancelled = 0;
    for (const child of children) {
      const updated = await this.tasks.markCancelled(child.id, child.status);
      if (!updated) continue;
      this.metrics.cancelled([updated]);
      cancelled++;
      await this.stop(updated);
      cancelled += await this.cancelChildren(child.id);
    }
    return cancelled;
  }

  private async advancePipeline(tx: Tx, parent: TaskRecord, children: TaskRecord[], fromHandler: boolean, changes: FamilyChanges): Promise<void> {
    const documentId = (parent.result as { document_id?: string } | null)?.document_id;
    const stages: Record<string, unknown> = {};
    for (const [index, stage] of PIPELINE_STAGES.entries()) {
      const latest = children.filter((c) => c.taskType === stage).at(-1);
      if (latest?.status === TaskStatus.completed) {
        stages[stage] = { task_id: latest.id, result: latest.result };
        continue;
      }
      const done = index + (latest ? latest.progress / 100 : 0);
      await this.setProgress(tx, parent, 25 + (done / PIPELINE_STAGES.length) * 75, `Pipeline stage ${index + 1} of ${PIPELINE_STAGES.length}: ${stage}`);
      if (latest && !TERMINAL_STATUSES.includes(latest.status)) return;
      if (latest && !fromHandler) {
        const outcome = latest.status === TaskStatus.cancelled ? TaskStatus.cancelled : TaskStatus.failed;
        await this.finish(tx, parent, outcome, null, `Pipeline stage ${stage} ${latest.status}: ${latest.errorMessage ?? ''}`.trim(), changes);
        return;
      }
      if (!documentId) {
        await this.finish(tx, parent, TaskStatus.failed, null, 'Pipeline has no document to continue with', changes);
        return;
      }
      changes.created.push(...(await this.create(tx, parent, [{ ...childDefaults(parent), taskType: stage, payload: { document_id: documentId } }])));
      return;
    }
    await this.finish(tx, parent, TaskStatus.completed, { ...(parent.result as object), pipeline: stages }, null, changes);
  }

  private async settleBatch(tx: Tx, parent: TaskRecord, children: TaskRecord[], changes: FamilyChanges): Promise<void> {
    const settled = children.filter((c) => TERMINAL_STATUSES.includes(c.status));
    const progress = children.length === 0 ? 100 : children.reduce((sum, c) => sum + (TERMINAL_STATUSES.includes(c.status) ? 100 : c.progress), 0) / children.length;
    if (settled.length < children.length) {
      await this.setProgress(tx, parent, progress, `${settled.length} of ${countOf(children.length, 'child task')} finished`);
      return;
    }
    const by = (status: TaskStatus) => children.filter((c) => c.status === status);
    await this.finish(
      tx,
      parent,
      TaskStatus.completed,
      {
        total: children.length,
        completed: by(TaskStatus.completed).length,
        failed: by(TaskStatus.failed).length,
        cancelled: by(TaskStatus.cancelled).length,
        children: {
          completed: by(TaskStatus.completed).map((c) => c.id),
          failed: by(TaskStatus.failed).map((c) => ({ id: c.id, error_message: c.errorMessage })),
          cancelled: by(TaskStatus.cancelled).map((c) => c.id),
        },
      },
      null,
      changes,
    );
  }

  private async retryUnsuccessful(tx: Tx, children: TaskRecord[]): Promise<TaskRecord[]> {
    const retried: TaskRecord[] = [];
    for (const child of children.filter((c) => c.status === TaskStatus.failed || c.status === TaskStatus.cancelled)) {
      const [row] = await tx.task.updateManyAndReturn({
        where: { id: child.id, status: child.status },
        data: { status: TaskStatus.queued, retryCount: { increment: 1 }, progress: 0, result: Prisma.DbNull, startedAt: null, completedAt: null, workerId: null, updatedAt: new Date() },
      });
      if (row) retried.push(row);
    }
    return retried;
  }

  private create(tx: Tx, parent: TaskRecord, children: NewTask[]): Promise<TaskRecord[]> {
    if (children.length === 0) return Promise.resolve([]);
    return tx.task.createManyAndReturn({
      data: children.map((c) => ({
        taskType: c.taskType,
        kbId: c.kbId,
        priority: c.priority,
        payload: c.payload as Prisma.InputJsonValue,
        maxRetries: c.maxRetries,
        timeoutSeconds: c.timeoutSeconds,
        scheduleFor: c.scheduleFor,
        parentId: parent.id,
      })),
    });
  }

  private async setProgress(tx: Tx, parent: TaskRecord, progress: number, message: string): Promise<void> {
    const rounded = Math.round(progress);
    // Never backwards, e.g. when a child is retried from 0 or two children settle at once.
    await tx.task.updateMany({
      where: { id: parent.id, status: TaskStatus.processing, progress: { lte: rounded } },
      data: { progress: rounded, progressMessage: message, updatedAt: new Date() },
    });
  }

  private async finish(
    tx: Tx,
    parent: TaskRecord,
    status: TaskStatus,
    result: object | null,
    errorMessage: string | null,
    changes: FamilyChanges,
  ): Promise<void> {
    const now = new Date();
    const [ended] = await tx.task.updateManyAndReturn({
      where: { id: parent.id, status: TaskStatus.processing },
      data: {
        status,
        result: result === null ? Prisma.DbNull : (result as Prisma.InputJsonValue),
        errorMessage,
        progress: status === TaskStatus.completed ? 100 : undefined,
        progressMessage: status === TaskStatus.completed ? 'All child tasks finished' : undefined,
        completedAt: now,
        updatedAt: now,
      },
    });
    // Not ended by this call when a cancel got there first: that cancel is counted where it happened.
    if (ended) changes.ended.push(ended);
  }

  private children(tx: Tx, parentId: string): Promise<TaskRecord[]> {
    return tx.task.findMany({ where: { parentId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  }

  private reload(tx: Tx, parent: TaskRecord): Promise<TaskRecord | null> {
    return tx.task.findUnique({ where: { id: parent.id } });
  }

  /** Runs `work` under the parent's lock in one transaction; what it changed is counted once committed. */
  private async locked(parentId: string, work: (tx: Tx, changes: FamilyChanges) => Promise<void>): Promise<FamilyChanges> {
    const changes: FamilyChanges = { created: [], retried: [], ended: [] };
    await this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${parentId}, 7))`;
      await work(tx, changes);
    });
    this.metrics.created(changes.created);
    this.metrics.retried(changes.retried);
    for (const parent of changes.ended) this.metrics.parentEnded(parent);
    return changes;
  }

  private async dispatch(tasks: TaskRecord[]): Promise<void> {
    if (tasks.length === 0) return;
    await this.queue.dispatchMany(tasks).catch((error: unknown) =>
      this.logger.warn(`${tasks.length} child task(s) stored but not dispatched (${errorMessage(error)}); the reconciler will dispatch them`),
    );
  }

  private async stop(task: TaskRecord): Promise<void> {
    try {
      await this.queue.stopTask(task.taskType, task.id);
    } catch (error) {
      this.logger.warn(`Child ${task.id} cancelled in PostgreSQL only: ${(error as Error).message}`);
    }
  }
}

/** What children inherit from their parent unless they say otherwise. */
export function childDefaults(parent: TaskRecord): Omit<NewTask, 'taskType' | 'payload'> {
  return {
    kbId: parent.kbId,
    priority: parent.priority,
    maxRetries: parent.maxRetries,
    timeoutSeconds: parent.timeoutSeconds,
    scheduleFor: null,
    parentId: parent.id,
  };
}
