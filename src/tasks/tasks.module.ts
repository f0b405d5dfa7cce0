import { Module } from '@nestjs/common';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { ApiExamplesService } from './api-examples.service';
import { IdempotencyService } from './idempotency.service';
import { PayloadValidatorService } from './payload-validator.service';
import { TaskAdmissionService } from './task-admission.service';
import { TaskBulkController } from './task-bulk.controller';
import { TaskBulkService } from './task-bulk.service';
import { TaskFamilyService } from './task-family.service';
import { TaskPresenterService } from './task-presenter.service';
import { TaskReconcilerService } from './task-reconciler.service';
import { TaskRetentionService } from './task-retention.service';
import { TasksController } from './tasks.controller';
import { TasksRepository } from './tasks.repository';
import { TasksService } from './tasks.service';

@Module({
  imports: [WebhooksModule],
  // TaskBulkController first: its literal routes (bulk/retry) must be matched before TasksController's :task_id ones.
  controllers: [TaskBulkController, TasksController],
  providers: [TasksRepository, TasksService, TaskPresenterService, TaskReconcilerService, PayloadValidatorService, TaskFamilyService, TaskAdmissionService, IdempotencyService, TaskRetentionService, TaskBulkService, ApiExamplesService],
  exports: [TasksRepository, PayloadValidatorService, TaskFamilyService],
})
export class TasksModule {}
