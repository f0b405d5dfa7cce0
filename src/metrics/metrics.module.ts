import { Global, Module } from '@nestjs/common';
import { EMBEDDING_RATE_LIMIT_OBSERVER } from '../provider-limits/provider-rate-limiter';
import { EmbeddingLimitMetrics } from './embedding-limit-metrics';
import { HttpMetricsRecorder } from './http-metrics.recorder';
import { metricProviders, processMetricsProvider } from './metrics';
import { ScrapeTimeCollector } from './scrape-time.collector';
import { TaskCountsRepository } from './task-counts.repository';
import { TaskMetricsService } from './task-metrics.service';
import { WorkerMetricsServer } from './worker-metrics.server';

/**
 * The metrics, in Prometheus text format: the task metrics plus Node's default process
 * metrics. The API serves them at `/metrics` (ApiModule registers the endpoint; the HTTP
 * timings come from HttpMetricsRecorder's onResponse hook); a worker serves them on WORKER_METRICS_PORT, without HTTP code.
 */
@Global()
@Module({
  providers: [
    ...metricProviders,
    processMetricsProvider,
    TaskCountsRepository,
    TaskMetricsService,
    ScrapeTimeCollector,
    WorkerMetricsServer,
    HttpMetricsRecorder,
    { provide: EMBEDDING_RATE_LIMIT_OBSERVER, useClass: EmbeddingLimitMetrics },
  ],
  exports: [...metricProviders, TaskMetricsService, HttpMetricsRecorder, EMBEDDING_RATE_LIMIT_OBSERVER],
})
export class MetricsModule {}
