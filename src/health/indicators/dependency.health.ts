import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
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

  private async check(key: string, probe: () => Promise<ComponentHealth>): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    const { status, ...data } = await probe();
    return status === 'healthy' ? indicator.up(data) : indicator.down(data);
  }
}
