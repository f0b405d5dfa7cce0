import { Module } from '@nestjs/common';
import { KbsModule } from '../kbs/kbs.module';
import { TaskEngineModule } from '../task-engine/task-engine.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { IdempotencyKeyRepository } from './idempotency-key.repository';
import { PayloadValidatorService } from './payload-validator.service';
import { TaskReconcilerService } from './task-reconciler.service';
import { TaskRetentionRepository } from './task-retention.repository';
import { TaskRetentionService } from './task-retention.service';

/**
 * What both roles need of tasks: the task engine (the one writer of task state, its
 * repositories, families), payload validation, idempotency keys, and the reconciler and retention sweeps. The HTTP side (controllers, the use cases only they call,
 * the presenter) is wired in ApiModule, so a worker never loads it.
 */
@Module({
  imports: [TaskEngineModule, WebhooksModule, KbsModule],
  providers: [
    TaskReconcilerService,
    PayloadValidatorService,
    IdempotencyKeyRepository,
    TaskRetentionRepository,
    TaskRetentionService,
  ],
  exports: [TaskEngineModule, PayloadValidatorService, IdempotencyKeyRepository],
})
export class TasksModule {}
