import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { allConfigs } from './config/app.config';
import { AppRole, validateEnvironment } from './config/env.validation';
import { MetricsModule } from './metrics/metrics.module';
import { PrismaModule } from './prisma/prisma.module';
import { QueuesModule } from './queues/queues.module';
import { WorkerModule } from './worker.module';

/**
 * One codebase, two roles: APP_ROLE decides whether this process serves the HTTP API
 * (ApiModule in api.module.ts, every controller), runs the workers (WorkerModule, no controller), or both
 * (the default, what `npm start` runs). Config, the database, the queues and the metrics
 * are shared by both.
 */
@Module({})
export class AppModule {
  static forRole(role: AppRole): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({
          isGlobal: true,
          cache: true,
          load: allConfigs,
          validate: validateEnvironment,
          ignoreEnvFile: true,
        }),
        PrismaModule,
        QueuesModule,
        MetricsModule,
        // Loaded only for a role that serves HTTP: a worker process never reads a controller's file.
        ...(role === AppRole.Worker ? [] : [import('./api.module').then(({ ApiModule }) => ({ module: ApiModule }))]),
        ...(role === AppRole.Api ? [] : [WorkerModule]),
      ],
    };
  }
}
