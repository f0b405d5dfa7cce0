import { DynamicModule, Module, Type } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { AdminModule } from './admin/admin.module';
import { AuthModule } from './auth/auth.module';
import { AllExceptionsFilter } from './common/filters/all-exceptions.filter';
import { createValidationPipe } from './common/pipes/validation.pipe';
import { allConfigs } from './config/app.config';
import { AppRole, validateEnvironment } from './config/env.validation';
import { DashboardModule } from './dashboard/dashboard.module';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { KbsModule } from './kbs/kbs.module';
import { MetricsModule } from './metrics/metrics.module';
import { PrismaModule } from './prisma/prisma.module';
import { QueuesModule } from './queues/queues.module';
import { StatsModule } from './stats/stats.module';
import { TasksModule } from './tasks/tasks.module';
import { WebhookDeliveryModule } from './webhooks/webhook-delivery.module';
import { WorkersModule } from './workers/workers.module';

/**
 * One codebase, two roles: APP_ROLE decides whether this process serves the HTTP API,
 * runs the workers, or both (the default, what `npm start` runs).
 */
@Module({})
export class AppModule {
  static forRole(role: AppRole): DynamicModule {
    // EventsModule before TasksModule: routes register in module order, and its literal
    // `tasks/events` must be matched before TasksController's `tasks/:task_id`.
    const api: Type[] = [AuthModule, EventsModule, TasksModule, StatsModule, HealthModule, KbsModule, AdminModule, DashboardModule];
    const workers: Type[] = [WorkersModule, WebhookDeliveryModule];
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, cache: true, load: allConfigs, validate: validateEnvironment, ignoreEnvFile: true }),
        PrismaModule,
        QueuesModule,
        MetricsModule,
        ...(role === AppRole.Worker ? [] : api),
        ...(role === AppRole.Api ? [] : workers),
      ],
      providers: [
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
      ],
    };
  }
}
