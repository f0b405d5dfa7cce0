import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { VectorStoreService } from '../../kbs/vector-store.service';
import { ComponentHealth, HealthProbeService } from '../health-probe.service';

/**
 * Terminus indicators for the three dependencies the spec's /health reports. They turn
 * the shared probes into Terminus results, keeping the probe's figures (latency, size).
 */
@Injectable()
export class DependencyHealthIndicators {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly probe: HealthProbeService,
    private readonly vectors: VectorStoreService,
  ) {}

  database(): Promise<HealthIndicatorResult> {
    return this.check('database', () => this.probe.database());
  }

  redis(): Promise<HealthIndicatorResult> {
    return this.check('redis', () => this.probe.redisServer());
  }

  queue(): Promise<HealthIndicatorResult> {
    return this.check('queue', () => this.probe.queueSystem());
  }

  /** Which vector store backend start-up chose (pgvector or float_array); healthy whenever the database is. */
  vectorStore(): Promise<HealthIndicatorResult> {
    return this.check('vector_store', async () => {
      const [database, info] = await Promise.all([this.probe.database(), this.vectors.describe()]);
      return { ...info, status: database.status };
    });
  }

  private async check(key: string, probe: () => Promise<ComponentHealth>): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    const { status, ...data } = await probe();
    return status === 'healthy' ? indicator.up(data) : indicator.down(data);
  }
}
