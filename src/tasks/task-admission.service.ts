import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { QueueFullError } from '../common/errors/domain.error';
import type { AllConfig } from '../config/app.config';
import { TaskQueryRepository } from '../task-engine/task-query.repository';

/** How long a count of waiting tasks is trusted before it is read again. */
const COUNT_TTL_MS = 1000;
/** What a refused caller is told to wait: long enough for workers to drain a little. */
const RETRY_AFTER_SECONDS = 5;

/**
 * Backpressure: refuses new tasks (503 QUEUE_FULL with Retry-After) while more than
 * MAX_QUEUED_TASKS are waiting, so a flood cannot grow the backlog without bound. The
 * waiting count comes from PostgreSQL (it holds while Redis is down), read at most once a
 * second and advanced locally by what this process admits in between.
 */
@Injectable()
export class TaskAdmissionService {
  private readonly limit: number;
  private waiting = 0;
  private readAt = 0;

  constructor(
    private readonly tasks: TaskQueryRepository,
    config: ConfigService<AllConfig, true>,
  ) {
    this.limit = config.getOrThrow('queue.maxQueuedTasks', { infer: true });
  }

  /** Admits `count` new tasks or throws; a batch is admitted or refused whole. */
  async admit(count: number): Promise<void> {
    if (this.limit === 0) return;
    if (Date.now() - this.readAt > COUNT_TTL_MS) {
      this.waiting = await this.tasks.countQueued();
      this.readAt = Date.now();
    }
    if (this.waiting + count > this.limit) throw new QueueFullError(this.waiting, this.limit, RETRY_AFTER_SECONDS);
    this.waiting += count;
  }
}
