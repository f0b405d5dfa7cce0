import { Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { AdminModule } from './admin/admin.module';
import { AuthModule } from './auth/auth.module';
import { AllExceptionsFilter } from './common/filters/all-exceptions.filter';
import { createValidationPipe } from './common/pipes/validation.pipe';
import { DashboardController } from './dashboard/dashboard.controller';
import { EventsModule } from './events/events.module';
import { TaskEventsController } from './events/task-events.controller';
import { ExternalWorkersController } from './external-workers/external-workers.controller';
import { ExternalWorkersModule } from './external-workers/external-workers.module';
import { HealthController } from './health/health.controller';
import { HealthModule } from './health/health.module';
import { DependencyHealthIndicators } from './health/indicators/dependency.health';
import { KbsController } from './kbs/kbs.controller';
import { KbsModule } from './kbs/kbs.module';
import { QueuesController } from './queues/queues.controller';
import { StatsController } from './stats/stats.controller';
import { StatsModule } from './stats/stats.module';
import { ApiExamplesService } from './tasks/api-examples.service';
import { IdempotencyService } from './tasks/idempotency.service';
import { TaskAdmissionService } from './tasks/task-admission.service';
import { TaskBulkController } from './tasks/task-bulk.controller';
import { TaskBulkService } from './tasks/task-bulk.service';
import { TaskPresenterService } from './tasks/task-presenter.service';
import { TasksController } from './tasks/tasks.controller';
import { TasksModule } from './tasks/tasks.module';
import { TasksService } from './tasks/tasks.service';

/**
 * The API role: every controller of the service and every provider only HTTP needs (the
 * guards, pipe and filter, the presenter, the use cases only controllers call).
 * The feature modules it imports hold no controller, so WorkerModule can share them.
 */
@Module({
  imports: [
    AuthModule,
    TasksModule,
    KbsModule,
    HealthModule,
    EventsModule,
    ExternalWorkersModule,
    StatsModule,
    AdminModule,
    TerminusModule.forRoot({ logger: false }),
    PrometheusModule.register({ path: '/metrics', defaultMetrics: { enabled: false } }),
  ],
  // Routes register in this order: the literal `tasks/events` and `tasks/bulk/...` must be
  // matched before TasksController's `tasks/:task_id`.
  controllers: [
    QueuesController,
    TaskEventsController,
    TaskBulkController,
    ExternalWorkersController,
    TasksController,
    StatsController,
    HealthController,
    KbsController,
    DashboardController,
  ],
  providers: [
    TasksService,
    TaskPresenterService,
    TaskAdmissionService,
    IdempotencyService,
    TaskBulkService,
    ApiExamplesService,
    DependencyHealthIndicators,
    { provide: APP_PIPE, useFactory: createValidationPipe },
    { provide: APP_FILTER, useClass: AllExceptionsFilter },
  ],
})
export class ApiModule {}
