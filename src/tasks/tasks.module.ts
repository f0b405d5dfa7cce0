import { Module } from '@nestjs/common';
import { TaskEngineModule } from '../task-engine/task-engine.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { IdempotencyService } from './idempotency.service';
import { PayloadValidatorService } from './payload-validator.service';
import { TaskAdmissionService } from './task-admission.service';
import { TaskBulkController } from './task-bulk.controller';
import { TaskBulkService } from './task-bulk.service';
import { TaskPresenterService } from './task-presenter.service';
import { TaskReconcilerService } from './task-reconciler.service';
import { TaskRetentionService } from './task-retention.service';
import { TasksController } from './tasks.controller';
import { TasksService } from './tasks.service';

@Module({
  imports: [TaskEngineModule, WebhooksModule],
  // TaskBulkController first: its literal routes (bulk/retry) must be matched before TasksController's :task_id ones.
  controllers: [TaskBulkController, TasksController],
  providers: [TasksService, TaskPresenterService, TaskReconcilerService, PayloadValidatorService, TaskAdmissionService, IdempotencyService, TaskRetentionService, TaskBulkService],
  exports: [TaskEngineModule, PayloadValidatorService],
})
export class TasksModule {}
