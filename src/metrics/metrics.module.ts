import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { HttpMetricsInterceptor } from './http-metrics.interceptor';
import { metricProviders } from './metrics';
import { QueueDepthCollector } from './queue-depth.collector';
import { TaskMetricsService } from './task-metrics.service';

/** `/metrics` in Prometheus text format: the task metrics plus Node's default process metrics. */
@Global()
@Module({
  imports: [PrometheusModule.register({ path: '/metrics', defaultMetrics: { enabled: true } })],
  providers: [...metricProviders, TaskMetricsService, QueueDepthCollector, { provide: APP_INTERCEPTOR, useClass: HttpMetricsInterceptor }],
  exports: [TaskMetricsService],
})
export class MetricsModule {}
