import { Module } from '@nestjs/common';
import { KbsModule } from '../kbs/kbs.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { PayloadValidatorService } from './payload-validator.service';
import { TaskFamilyService } from './task-family.service';
import { TaskReconcilerService } from './task-reconciler.service';
import { TaskRetentionRepository } from './task-retention.repository';
import { TaskRetentionService } from './task-retention.service';
import { TasksRepository } from './tasks.repository';

/**
 * What both roles need of tasks: the repository, payload validation, families, and the
 * reconciler and retention sweeps. The HTTP side (controllers, the use cases only they call,
 * the presenter) is wired in ApiModule, so a worker never loads it.
 */
@Module({
  imports: [WebhooksModule, KbsModule],
  providers: [TasksRepository, TaskReconcilerService, PayloadValidatorService, TaskFamilyService, TaskRetentionRepository, TaskRetentionService],
  exports: [TasksRepository, PayloadValidatorService, TaskFamilyService],
})
export class TasksModule {}
