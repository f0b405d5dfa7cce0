import { Module } from '@nestjs/common';
import { KbsModule } from '../kbs/kbs.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { ApiExamplesService } from './api-examples.service';
import { IdempotencyKeyRepository } from './idempotency-key.repository';
import { IdempotencyService } from './idempotency.service';
import { PayloadValidatorService } from './payload-validator.service';
import { TaskAdmissionService } from './task-admission.service';
import { TaskBulkController } from './task-bulk.controller';
import { TaskBulkService } from './task-bulk.service';
import { TaskFamilyService } from './task-family.service';
import { TaskPresenterService } from './task-presenter.service';
import { TaskReconcilerService } from './task-reconciler.service';
import { TaskRetentionRepository } from './task-retention.repository';
import { TaskRetentionService } from './task-retention.service';
import { TasksController } from './tasks.controller';
import { TasksRepository } from './tasks.repository';
import { TasksService } from './tasks.service';

@Module({
  imports: [WebhooksModule, KbsModule],
  // TaskBulkController first: its literal routes (bulk/retry) must be matched before TasksController's :task_id ones.
  controllers: [TaskBulkController, TasksController],
  providers: [
    TasksRepository,
    TasksService,
    TaskPresenterService,
    TaskReconcilerService,
    PayloadValidatorService,
    TaskFamilyService,
    TaskAdmissionService,
    IdempotencyKeyRepository,
    IdempotencyService,
    TaskRetentionRepository,
    TaskRetentionService,
    TaskBulkService,
    ApiExamplesService,
  ],
  exports: [TasksRepository, PayloadValidatorService, TaskFamilyService],
})
export class TasksModule {}
