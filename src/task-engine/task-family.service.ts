import { Injectable } from '@nestjs/common';
import { countOf } from '../common/utils/plural';
import { TaskMetricsService } from '../metrics/task-metrics.service';
import type { UnitOfWork } from '../prisma/unit-of-work';
import type { NewTask, TaskRecord } from '../task-types/task-record';
import { TaskStatus, TaskType, TERMINAL_STATUSES } from '../task-types/task-types';
import { TaskEffects } from './task-effects';
import { TaskQueryRepository } from './task-query.repository';
import { TRANSITIONS } from './task-transitions';
import { TaskWriteRepository } from './task-write.repository';

/** The follow-up stages a document_processing task with `pipeline: true` runs, in order. */
export const PIPELINE_STAGES = [
  TaskType.embedding_generation,
  TaskType.vector_storage,
  TaskType.knowledge_indexing,
] as const;

type Tx = UnitOfWork;
type ParentOutcome = (typeof TRANSITIONS.finishParent.to)[number];

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
 * never double-create a stage or double-finish the parent. Part of the task engine: only
 * TaskStateService calls it.
 */
@Injectable()
export class TaskFamilyService {
  constructor(
    private readonly writes: TaskWriteRepository,
    private readonly reads: TaskQueryRepository,
    private readonly effects: TaskEffects,
    private readonly metrics: TaskMetricsService,
  ) {}

  private isPipelineParent(task: Pick<TaskRecord, 'taskType' | 'payload'>): boolean {
    return (
      task.taskType === TaskType.document_processing && (task.payload as { pipeline?: unknown })?.pipeline === true
    );
  }

  /**
   * Called by a parent's handler: creates the children it does not have yet (idempotent, so
   * a re-run after a crash or a manual retry does not duplicate them), retries those that
   * failed, and re-evaluates the parent.
   */
  async startChildren(parent: TaskRecord, children: NewTask[]): Promise<void> {
    const changes = await this.locked(parent.id, async (tx, changes) => {
      const existing = await this.reads.findChildren(parent.id, tx);
      if (this.isPipelineParent(parent)) return this.advancePipeline(tx, parent, existing, true, changes);
      if (existing.length === 0) changes.created.push(...(await this.create(tx, parent, children)));
      else changes.retried.push(...(await this.retryUnsuccessful(tx, existing)));
    });
    await this.effects.created(changes.created);
    await this.effects.retried(changes.retried);
    await this.childSettled(parent.id);
  }

  /** Re-evaluates a parent after one of its children reached a terminal state. */
  async childSettled(parentId: string): Promise<void> {
    let finishedParent: TaskRecord | null = null;
    const changes = await this.locked(parentId, async (tx, changes) => {
      const parent = await this.reads.findById(parentId, tx);
      if (parent?.status !== TaskStatus.processing) return;
      const children = await this.reads.findChildren(parentId, tx);
      if (this.isPipelineParent(parent)) await this.advancePipeline(tx, parent, children, false, changes);
      else await this.settleBatch(tx, parent, children, changes);
      finishedParent = await this.reads.findById(parent.id, tx);
    });
    await this.effects.created(changes.created);
    const parent = finishedParent as TaskRecord | null;
    if (parent && TERMINAL_STATUSES.includes(parent.status) && parent.parentId)
      await this.childSettled(parent.parentId);
  }

  private async advancePipeline(
    tx: Tx,
    parent: TaskRecord,
    children: TaskRecord[],
    fromHandler: boolean,
    changes: FamilyChanges,
  ): Promise<void> {
    const documentId = (parent.result as { document_id?: string } | null)?.document_id;
    const stages: Record<string, unknown> = {};
    for (const [index, stage] of PIPELINE_STAGES.entries()) {
      const latest = children.filter((c) => c.taskType === stage).at(-1);
      if (latest?.status === TaskStatus.completed) {
        stages[stage] = { task_id: latest.id, result: latest.result };
        continue;
      }
      const done = index + (latest ? latest.progress / 100 : 0);
      await this.setProgress(
        tx,
        parent,
        25 + (done / PIPELINE_STAGES.length) * 75,
        `Pipeline stage ${index + 1} of ${PIPELINE_STAGES.length}: ${stage}`,
      );
      if (latest && !TERMINAL_STATUSES.includes(latest.status)) return;
      if (latest && !fromHandler) {
        const outcome = latest.status === TaskStatus.cancelled ? TaskStatus.cancelled : TaskStatus.failed;
        await this.finish(
          tx,
          parent,
          outcome,
          null,
          `Pipeline stage ${stage} ${latest.status}: ${latest.errorMessage ?? ''}`.trim(),
          changes,
        );
        return;
      }
      if (!documentId) {
        await this.finish(tx, parent, TaskStatus.failed, null, 'Pipeline has no document to continue with', changes);
        return;
      }
      changes.created.push(
        ...(await this.create(tx, parent, [
          { ...childDefaults(parent), taskType: stage, payload: { document_id: documentId } },
        ])),
      );
      return;
    }
    await this.finish(
      tx,
      parent,
      TaskStatus.completed,
      { ...(parent.result as object), pipeline: stages },
      null,
      changes,
    );
  }

  private async settleBatch(tx: Tx, parent: TaskRecord, children: TaskRecord[], changes: FamilyChanges): Promise<void> {
    const settled = children.filter((c) => TERMINAL_STATUSES.includes(c.status));
    const progress =
      children.length === 0
        ? 100
        : children.reduce((sum, c) => sum + (TERMINAL_STATUSES.includes(c.status) ? 100 : c.progress), 0) /
          children.length;
    if (settled.length < children.length) {
      await this.setProgress(
        tx,
        parent,
        progress,
        `${settled.length} of ${countOf(children.length, 'child task')} finished`,
      );
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

  /** The one retry reset (TaskWriteRepository.retry), per status the failed or cancelled children are in. */
  private async retryUnsuccessful(tx: Tx, children: TaskRecord[]): Promise<TaskRecord[]> {
    const retried: TaskRecord[] = [];
    for (const status of TRANSITIONS.retry.from) {
      const ids = children.filter((c) => c.status === status).map((c) => c.id);
      if (ids.length > 0) retried.push(...(await this.writes.retry(ids, status, tx)));
    }
    return retried;
  }

  /** Through the one INSERT path, inside the family's transaction. */
  private create(tx: Tx, parent: TaskRecord, children: NewTask[]): Promise<TaskRecord[]> {
    return this.writes.insert(
      children.map((child) => ({ ...child, parentId: parent.id, callbackUrl: null, callbackSecret: null })),
      tx,
    );
  }

  private async setProgress(tx: Tx, parent: TaskRecord, progress: number, message: string): Promise<void> {
    // Never backwards (the guard of updateProgress), e.g. when a child is retried from 0 or two children settle at once.
    await this.writes.updateProgress(parent.id, Math.round(progress), message, { uow: tx });
  }

  private async finish(
    tx: Tx,
    parent: TaskRecord,
    outcome: ParentOutcome,
    result: object | null,
    errorMessage: string | null,
    changes: FamilyChanges,
  ): Promise<void> {
    const ended = await this.writes.finishParent(tx, parent.id, outcome, result, errorMessage);
    // Not ended by this call when a cancel got there first: that cancel is counted where it happened.
    if (ended) changes.ended.push(ended);
  }

  /** Runs `work` under the parent's lock in one transaction; parents it ended are counted once committed. */
  private async locked(
    parentId: string,
    work: (tx: Tx, changes: FamilyChanges) => Promise<void>,
  ): Promise<FamilyChanges> {
    const changes: FamilyChanges = { created: [], retried: [], ended: [] };
    await this.writes.inParentLock(parentId, (tx) => work(tx, changes));
    for (const parent of changes.ended) this.metrics.parentEnded(parent);
    return changes;
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
