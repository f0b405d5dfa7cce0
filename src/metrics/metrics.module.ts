import { Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { HttpMetricsRecorder } from './http-metrics.recorder';
import { metricProviders } from './metrics';
import { ScrapeTimeCollector } from './scrape-time.collector';
import { TaskCountsRepository } from './task-counts.repository';
import { TaskMetricsService } from './task-metrics.service';
import { WorkerMetricsServer } from './worker-metrics.server';

/**
 * `/metrics` in Prometheus text format: the task metrics plus Node's default process
 * metrics. Served by the API (api and both roles), and by a worker on WORKER_METRICS_PORT.
 */
@Global()
@Module({
  imports: [PrometheusModule.register({ path: '/metrics', defaultMetrics: { enabled: true } })],
  providers: [
    ...metricProviders,
    TaskCountsRepository,
    TaskMetricsService,
    ScrapeTimeCollector,
    WorkerMetricsServer,
    HttpMetricsRecorder,
  ],
  exports: [TaskMetricsService, HttpMetricsRecorder],
})
export class MetricsModule {}
