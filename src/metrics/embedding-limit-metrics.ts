import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Histogram } from 'prom-client';
import type { RateLimitObserver } from '../provider-limits/provider-rate-limiter';
import { METRIC } from './metrics';

/** What the embedding provider's rate limiter reports, as metrics: its waits and the 429s it met. */
@Injectable()
export class EmbeddingLimitMetrics implements RateLimitObserver {
  constructor(
    @InjectMetric(METRIC.embeddingThrottleWait) private readonly throttleWait: Histogram,
    @InjectMetric(METRIC.embeddingRateLimited) private readonly rateLimitedTotal: Counter,
  ) {}

  throttled(waitSeconds: number): void {
    this.throttleWait.observe(waitSeconds);
  }

  rateLimited(): void {
    this.rateLimitedTotal.inc();
  }
}
