import { Module } from '@nestjs/common';
import { IdempotencyService } from './idempotency.service';
import { PayloadValidatorService } from './payload-validator.service';
import { TaskAdmissionService } from './task-admission.service';
import { TaskFamilyService } from './task-family.service';
import { TaskPresenterService } from './task-presenter.service';
import { TaskReconcilerService } from './task-reconciler.service';
import { TaskRetentionService } from './task-retention.service';
import { TasksController } from './tasks.controller';
import { TasksRepository } from './tasks.repository';
import { TasksService } from './tasks.service';

@Module({
  controllers: [TasksController],
  providers: [TasksRepository, TasksService, TaskPresenterService, TaskReconcilerService, PayloadValidatorService, TaskFamilyService, TaskAdmissionService, IdempotencyService, TaskRetentionService],
  exports: [TasksRepository, PayloadValidatorService, TaskFamilyService],
})
export class TasksModule {}
