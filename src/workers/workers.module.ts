import { Module } from '@nestjs/common';
import { HealthModule } from '../health/health.module';
import { KbsModule } from '../kbs/kbs.module';
import { TaskEngineModule } from '../task-engine/task-engine.module';
import { TasksModule } from '../tasks/tasks.module';
import { TaskCancellationService } from './task-cancellation.service';
import { TASK_PROCESSORS, taskProcessorHostsProvider } from './task-handler-registry';
import { TaskLifecycleService } from './task-lifecycle';
import { WorkerBootstrapService } from './worker-bootstrap.service';
import { WorkerHeartbeatService } from './worker-heartbeat.service';
import { makeWorkerId, WORKER_ID } from './worker-identity';

/** The worker role: one processor per task type (from the handler registry), all going through the task lifecycle. */
@Module({
  imports: [HealthModule, TaskEngineModule, TasksModule, KbsModule],
  providers: [
    { provide: WORKER_ID, useFactory: makeWorkerId },
    TaskLifecycleService,
    TaskCancellationService,
    WorkerHeartbeatService,
    WorkerBootstrapService,
    ...Object.values(TASK_PROCESSORS),
    taskProcessorHostsProvider,
  ],
})
export class WorkersModule {}
