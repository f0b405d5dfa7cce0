import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import { DomainError, InvalidRequestError, ServiceUnavailableError } from '../common/errors/domain.error';
import { ErrorCode } from '../common/errors/error-codes';
import type { AllConfig } from '../config/app.config';
import { TaskMetricsService } from '../metrics/task-metrics.service';
import { REDIS_CLIENT, redisKeys } from '../queues/redis.provider';
import { TaskQueueService } from '../queues/task-queue.service';
import { TaskStatus } from '../queues/task-types';
import { BulkAction, BulkOperationDto, BulkTaskFilterDto } from './dto/bulk-action.dto';
import { TaskFamilyService } from './task-family.service';
import { BulkCursor, TaskFilter, TaskRecord, TasksRepository } from './tasks.repository';
import { errorMessage } from '../common/errors/error-message';

/** The statuses each action applies to, processed one after the other (each pass walks one index in order). */
const APPLIES_TO: Record<BulkAction, TaskStatus[]> = {
  cancel: [TaskStatus.queued, TaskStatus.processing],
  retry: [TaskStatus.failed, TaskStatus.cancelled],
};
/** Redis calls in flight per batch (job removals, cancel broadcasts). */
const REDIS_CONCURRENCY = 32;
/** How long a bulk operation's record can be read after it started. */
const RECORD_TTL_SECONDS = 24 * 3600;
/** The 404 message for an unknown (or expired, or malformed) bulk operation id. */
export const BULK_OPERATION_NOT_FOUND = 'Bulk operation not found (records are kept for 24 hours)';

export interface BulkStart {
  operation: BulkOperationDto;
  /** False when the operation goes on in the background (202). */
  finished: boolean;
}

/**
 * Cancel or retry every task matching a filter, with the single-task semantics (job removed
 * or running handler aborted, children cancelled, parents told; a retry counted, the old
 * job dropped, the task dispatched again) but in bulk SQL: batches of BULK_BATCH_SIZE tasks,
 * each one UPDATE in its own transaction, walked by keyset on (created_at, id) — so each
 * batch costs the same however many match, and nothing holds locks on 100,000 rows. Small
 * sets are answered when done; larger ones run in the background with a record in Redis
 * that any API instance can report.
 */
@Injectable()
export class TaskBulkService {
  private readonly logger = new Logger(TaskBulkService.name);
  private readonly syncLimit: number;
  private readonly batchSize: number;
  private readonly keys: ReturnType<typeof redisKeys>;

  constructor(
    private readonly tasks: TasksRepository,
    private readonly queue: TaskQueueService,
    private readonly family: TaskFamilyService,
    private readonly metrics: TaskMetricsService,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    config: ConfigService<AllConfig, true>,
  ) {
    const bulk = config.getOrThrow('bulk', { infer: true });
    this.syncLimit = bulk.syncLimit;
    this.batchSize = bulk.batchSize;
    this.keys = redisKeys(config.getOrThrow('queue.prefix', { infer: true }));
  }

  /** `scope`: the knowledge bases the caller may touch (null: all); a limited caller must name one of them. */
  async start(action: BulkAction, dto: BulkTaskFilterDto, scope: readonly string[] | null = null): Promise<BulkStart> {
    if (scope && !dto.kb_id) {
      throw new InvalidRequestError('kb_id is required: this credential is limited to some knowledge bases', {
        fields: { kb_id: [`kb_id must be one of: ${scope.join(', ')}`] },
      });
    }
    const filter = toFilter(dto);
    const statuses = this.statusesFor(action, dto);
    const counts = await Promise.all(statuses.map((status) => this.tasks.count({ ...filter, status })));
    const now = new Date().toISOString();
    const operation: BulkOperationDto = {
      id: randomUUID(),
      action,
      status: 'running',
      filter: { ...dto },
      matched: counts.reduce((a, b) => a + b, 0),
      affected: 0,
      batches: 0,
      error: null,
      created_at: now,
      finished_at: null,
    };
    if (operation.matched <= this.syncLimit) {
      await this.run(operation, filter, statuses);
      await this.save(operation).catch((error: unknown) => this.logger.warn(`Bulk ${operation.id} not recorded: ${errorMessage(error)}`));
      return { operation, finished: true };
    }
    // A background operation is only accepted if it can be followed.
    await this.save(operation).catch(() => {
      throw new ServiceUnavailableError('Large bulk actions need Redis to report their progress; try again shortly', { component: 'redis' });
    });
    void this.run(operation, filter, statuses);
    return { operation, finished: false };
  }

  /** `scope`: a caller limited to some kbs sees only operations on one of them; others are "not found". */
  async get(id: string, scope: readonly string[] | null = null): Promise<BulkOperationDto> {
    const stored = await this.redis.get(this.keys.bulkOperation(id)).catch(() => {
      throw new ServiceUnavailableError('The task queue (Redis) is unavailable; try again shortly', { component: 'redis' });
    });
    const operation = stored ? (JSON.parse(stored) as BulkOperationDto) : null;
    if (!operation || (scope && !scope.includes(operation.filter.kb_id as string))) {
      throw new DomainError(ErrorCode.NotFound, BULK_OPERATION_NOT_FOUND, { operation_id: id });
    }
    return operation;
  }

  private statusesFor(action: BulkAction, dto: BulkTaskFilterDto): TaskStatus[] {
    const given = (['kb_id', 'status', 'task_type', 'priority', 'created_after', 'created_before'] as const).filter((f) => dto[f] !== undefined);
    if (given.length === 0) {
      throw new InvalidRequestError('Give at least one filter; to act on every task, say so with created_before', {
        fields: { body: ['at least one of kb_id, status, task_type, priority, created_after, created_before is required'] },
      });
    }
    if (!dto.status) return APPLIES_TO[action];
    if (!APPLIES_TO[action].includes(dto.status)) {
      throw new InvalidRequestError(`Only ${APPLIES_TO[action].join(' or ')} tasks can be ${action === 'cancel' ? 'cancelled' : 'retried'}`, {
        fields: { status: [`status must be one of: ${APPLIES_TO[action].join(', ')}`] },
      });
    }
    return [dto.status];
  }

  private async run(operation: BulkOperationDto, filter: TaskFilter, statuses: TaskStatus[]): Promise<void> {
    try {
      for (const status of statuses) {
        let after: BulkCursor | null = null;
        for (;;) {
          const batch = await this.tasks.findBatchIds(filter, status, after, this.batchSize);
          if (batch.length === 0) break;
          after = batch[batch.length - 1];
          const ids = batch.map((row) => row.id);
          operation.affected += operation.action === 'cancel' ? await this.cancelBatch(ids, status) : await this.retryBatch(ids, status);
          operation.batches++;
          await this.save(operation).catch(() => undefined);
          if (batch.length < this.batchSize) break;
        }
      }
      operation.status = 'completed';
    } catch (error) {
      operation.status = 'failed';
      operation.error = (error as Error).message;
      this.logger.error(`Bulk ${operation.action} ${operation.id} stopped after ${operation.affected} tasks: ${operation.error}`);
    }
    operation.finished_at = new Date().toISOString();
    await this.save(operation).catch(() => undefined);
  }

  /** TasksService.cancel for a batch: PostgreSQL first, then jobs stopped, children cancelled, parents told. */
  private async cancelBatch(ids: string[], from: TaskStatus): Promise<number> {
    const cancelled = await this.tasks.cancelMany(ids, from);
    this.metrics.cancelled(cancelled);
    // Redis unreachable: a worker that picks the job up anyway finds the task cancelled in PostgreSQL.
    await forEachLimited(cancelled, REDIS_CONCURRENCY, (task) => this.queue.stopTask(task.taskType, task.id).catch(() => undefined));
    for (const parentId of await this.tasks.withOpenChildren(cancelled.map((t) => t.id))) await this.family.cancelChildren(parentId);
    const inBatch = new Set(ids);
    for (const parentId of new Set(cancelled.flatMap((t) => (t.parentId && !inBatch.has(t.parentId) ? [t.parentId] : [])))) {
      await this.family.childSettled(parentId);
    }
    return cancelled.length;
  }

  /** TasksService.retry for a batch: requeued in PostgreSQL, the finished job dropped, dispatched again. */
  private async retryBatch(ids: string[], from: TaskStatus): Promise<number> {
    const requeued = await this.tasks.requeueManyForRetry(ids, from);
    this.metrics.retried(requeued);
    await forEachLimited(requeued, REDIS_CONCURRENCY, (task) => this.queue.removeFinishedJob(task.taskType, task.id).catch(() => undefined));
    await this.queue
      .dispatchMany(requeued)
      .catch((error: unknown) => this.logger.warn(`${requeued.length} retried tasks not dispatched (${errorMessage(error)}); the reconciler will dispatch them`));
    return requeued.length;
  }

  private async save(operation: BulkOperationDto): Promise<void> {
    await this.redis.set(this.keys.bulkOperation(operation.id), JSON.stringify(operation), 'EX', RECORD_TTL_SECONDS);
  }
}

function toFilter(dto: BulkTaskFilterDto): TaskFilter {
  return {
    kbId: dto.kb_id,
    taskType: dto.task_type,
    priority: dto.priority,
    createdAfter: dto.created_after ? new Date(dto.created_after) : undefined,
    createdBefore: dto.created_before ? new Date(dto.created_before) : undefined,
  };
}

async function forEachLimited(items: TaskRecord[], limit: number, work: (item: TaskRecord) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
