import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import { DomainError, InvalidRequestError, ServiceUnavailableError } from '../common/errors/domain.error';
import { ErrorCode } from '../common/errors/error-codes';
import { errorMessage } from '../common/errors/error-message';
import type { AllConfig } from '../config/app.config';
import { REDIS_CLIENT, redisKeys } from '../queues/redis.provider';
import { TaskQueryRepository } from '../task-engine/task-query.repository';
import { TaskStateService } from '../task-engine/task-state.service';
import { TRANSITIONS } from '../task-engine/task-transitions';
import type { BulkCursor, TaskFilter } from '../task-types/task-record';
import { TaskStatus } from '../task-types/task-types';
import { BulkAction, BulkOperationDto, BulkTaskFilterDto } from './dto/bulk-action.dto';

/** The statuses each action applies to (the transition table's), processed one after the other (each pass walks one index in order). */
const APPLIES_TO: Record<BulkAction, readonly TaskStatus[]> = {
  cancel: TRANSITIONS.cancel.from,
  retry: TRANSITIONS.retry.from,
};
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
 * Cancel or retry every task matching a filter, with the single-task semantics (the task
 * engine's cancelMany/retryMany run the same orchestration as a single cancel or retry)
 * but in bulk SQL: batches of BULK_BATCH_SIZE tasks,
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
    private readonly tasks: TaskQueryRepository,
    private readonly engine: TaskStateService,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    config: ConfigService<AllConfig, true>,
  ) {
    const bulk = config.getOrThrow('bulk', { infer: true });
    this.syncLimit = bulk.syncLimit;
    this.batchSize = bulk.batchSize;
    this.keys = redisKeys(config.getOrThrow('queue.prefix', { infer: true }));
  }

  /**
   * `scope`: the knowledge bases the caller may touch (null: all); a limited caller must name one of them.
   * `id`: fixed only for the operation the API docs' example names.
   */
  async start(
    action: BulkAction,
    dto: BulkTaskFilterDto,
    scope: readonly string[] | null = null,
    id: string = randomUUID(),
  ): Promise<BulkStart> {
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
      id,
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
      await this.save(operation).catch((error: unknown) => {
        this.logger.warn(`Bulk ${operation.id} not recorded: ${errorMessage(error)}`);
      });
      return { operation, finished: true };
    }
    // A background operation is only accepted if it can be followed.
    await this.save(operation).catch(() => {
      throw new ServiceUnavailableError('Large bulk actions need Redis to report their progress; try again shortly', {
        component: 'redis',
      });
    });
    void this.run(operation, filter, statuses);
    return { operation, finished: false };
  }

  /** `scope`: a caller limited to some kbs sees only operations on one of them; others are "not found". */
  async get(id: string, scope: readonly string[] | null = null): Promise<BulkOperationDto> {
    const stored = await this.redis.get(this.keys.bulkOperation(id)).catch(() => {
      throw new ServiceUnavailableError('The task queue (Redis) is unavailable; try again shortly', {
        component: 'redis',
      });
    });
    const operation = stored ? (JSON.parse(stored) as BulkOperationDto) : null;
    if (!operation || (scope && !scope.includes(operation.filter.kb_id as string))) {
      throw new DomainError(ErrorCode.NotFound, BULK_OPERATION_NOT_FOUND, { operation_id: id });
    }
    return operation;
  }

  private statusesFor(action: BulkAction, dto: BulkTaskFilterDto): readonly TaskStatus[] {
    const given = (['kb_id', 'status', 'task_type', 'priority', 'created_after', 'created_before'] as const).filter(
      (f) => dto[f] !== undefined,
    );
    if (given.length === 0) {
      throw new InvalidRequestError('Give at least one filter; to act on every task, say so with created_before', {
        fields: {
          body: ['at least one of kb_id, status, task_type, priority, created_after, created_before is required'],
        },
      });
    }
    if (!dto.status) return APPLIES_TO[action];
    if (!APPLIES_TO[action].includes(dto.status)) {
      throw new InvalidRequestError(
        `Only ${APPLIES_TO[action].join(' or ')} tasks can be ${action === 'cancel' ? 'cancelled' : 'retried'}`,
        {
          fields: { status: [`status must be one of: ${APPLIES_TO[action].join(', ')}`] },
        },
      );
    }
    return [dto.status];
  }

  private async run(operation: BulkOperationDto, filter: TaskFilter, statuses: readonly TaskStatus[]): Promise<void> {
    try {
      for (const status of statuses) {
        let after: BulkCursor | null = null;
        for (;;) {
          const batch = await this.tasks.findBatchIds(filter, status, after, this.batchSize);
          if (batch.length === 0) break;
          after = batch[batch.length - 1];
          const ids = batch.map((row) => row.id);
          operation.affected +=
            operation.action === 'cancel'
              ? await this.engine.cancelMany(ids, status)
              : await this.engine.retryMany(ids, status);
          operation.batches++;
          await this.save(operation).catch(() => undefined);
          if (batch.length < this.batchSize) break;
        }
      }
      operation.status = 'completed';
    } catch (error) {
      operation.status = 'failed';
      operation.error = (error as Error).message;
      this.logger.error(
        `Bulk ${operation.action} ${operation.id} stopped after ${operation.affected} tasks: ${operation.error}`,
      );
    }
    operation.finished_at = new Date().toISOString();
    await this.save(operation).catch(() => undefined);
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
