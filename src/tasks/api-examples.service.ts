import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  EXAMPLE_BULK_OPERATION_ID,
  EXAMPLE_DOCUMENT_ID,
  EXAMPLE_KB_ID,
  EXAMPLE_TASK_ID,
} from '../common/decorators/path-param.decorator';
import { DomainError } from '../common/errors/domain.error';
import { ErrorCode } from '../common/errors/error-codes';
import { errorMessage } from '../common/errors/error-message';
import type { AllConfig } from '../config/app.config';
import { AppRole } from '../config/env.validation';
import { SAMPLE_DOCUMENT_PATH } from '../kbs/sample-document.service';
import { CreateTaskDto } from '../task-types/create-task.dto';
import { TaskType } from '../task-types/task-types';
import { TaskBulkService } from './task-bulk.service';
import { TasksService } from './tasks.service';

/** The task that produces the example document (its own id is not shown anywhere in the docs). */
export const EXAMPLE_DOCUMENT_TASK_ID = '550e8400-e29b-41d4-a716-446655440001';

/** What the examples name, stored under their fixed ids like any caller's request would be. */
const EXAMPLE_TASKS: readonly [string, CreateTaskDto][] = [
  [
    EXAMPLE_TASK_ID,
    {
      task_type: TaskType.health_check,
      kb_id: EXAMPLE_KB_ID,
      payload: { checks: ['database', 'redis', 'queues'], samples: 3, interval_ms: 100 },
    },
  ],
  [
    EXAMPLE_DOCUMENT_TASK_ID,
    {
      task_type: TaskType.document_processing,
      kb_id: EXAMPLE_KB_ID,
      payload: { file_path: SAMPLE_DOCUMENT_PATH, document_id: EXAMPLE_DOCUMENT_ID },
    },
  ],
];

/** A bulk retry that matches nothing by construction: it changes no task, and its record exists to be read. */
const EXAMPLE_BULK_FILTER = {
  kb_id: EXAMPLE_KB_ID,
  task_type: TaskType.health_check,
  created_before: '2000-01-01T00:00:00.000Z',
};

/**
 * Bulk operation records expire after 24 hours and retention deletes finished tasks after
 * TASK_RETENTION_DAYS: checked again this often, so the examples keep working on a
 * long-running service.
 */
const REFRESH_MS = 3600 * 1000;

/**
 * Keeps what Swagger UI's path examples name (SWAGGER_EXAMPLE_TASK): a health_check task
 * under the `{task_id}` example, the sample document under the `{document_id}` example
 * (made by a document_processing task) and a bulk operation under the `{operation_id}`
 * example, so "Try it out" reads real, finished things instead of answering 404. Each is
 * created through the normal path (the tasks run on the workers) and only when absent, so
 * restarts and several API processes store each once. A failure (PostgreSQL or Redis down
 * at boot) is logged and tried again at the next refresh; it never stops the API.
 */
@Injectable()
export class ApiExamplesService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ApiExamplesService.name);
  private readonly enabled: boolean;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly tasks: TasksService,
    private readonly bulk: TaskBulkService,
    config: ConfigService<AllConfig, true>,
  ) {
    // The API serves the docs; TasksModule is loaded by the worker role too.
    this.enabled =
      config.getOrThrow('app.swaggerExampleTask', { infer: true }) &&
      config.getOrThrow('app.role', { infer: true }) !== AppRole.Worker;
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    // In the background: the examples are a convenience, never a reason to delay or fail the boot.
    void this.ensure();
    this.timer = setInterval(() => void this.ensure(), REFRESH_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Stores whichever example is missing; never throws. */
  async ensure(): Promise<void> {
    for (const [id, request] of EXAMPLE_TASKS) {
      await this.tasks.createIfAbsent(id, request).catch((error: unknown) => {
        this.logger.warn(`Example task ${id} not stored: ${errorMessage(error)}`);
      });
    }
    await this.ensureBulkOperation().catch((error: unknown) => {
      this.logger.warn(`Example bulk operation not recorded: ${errorMessage(error)}`);
    });
  }

  private async ensureBulkOperation(): Promise<void> {
    try {
      await this.bulk.get(EXAMPLE_BULK_OPERATION_ID);
    } catch (error) {
      if (!(error instanceof DomainError && error.code === ErrorCode.NotFound)) throw error;
      await this.bulk.start('retry', EXAMPLE_BULK_FILTER, null, EXAMPLE_BULK_OPERATION_ID);
    }
  }
}
