import { Module } from '@nestjs/common';
import { KbsModule } from '../kbs/kbs.module';
import { DatabaseHealthRepository } from './database-health.repository';
import { HealthProbeService } from './health-probe.service';

/**
 * The dependency probes, shared by the API's /health (ApiModule wires its controller and
 * Terminus indicators) and the health_check task a worker runs.
 */
@Module({
  imports: [KbsModule],
  providers: [DatabaseHealthRepository, HealthProbeService],
  exports: [HealthProbeService],
})
export class HealthModule {}
