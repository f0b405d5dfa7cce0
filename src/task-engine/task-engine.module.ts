import { Module } from '@nestjs/common';
import { TaskEffects } from './task-effects';
import { TaskFamilyService } from './task-family.service';
import { TaskLeaseRepository } from './task-lease.repository';
import { TaskQueryRepository } from './task-query.repository';
import { TaskStateService } from './task-state.service';
import { TaskWriteRepository } from './task-write.repository';

/**
 * Task state and its persistence. TaskStateService is the one way to change a task's status
 * (the write and lease repositories are not exported); the query repository serves every read.
 */
@Module({
  providers: [
    TaskWriteRepository,
    TaskQueryRepository,
    TaskLeaseRepository,
    TaskEffects,
    TaskFamilyService,
    TaskStateService,
  ],
  exports: [TaskStateService, TaskQueryRepository],
})
export class TaskEngineModule {}
