import { Module } from '@nestjs/common';
import { KbsModule } from '../kbs/kbs.module';
import { HealthProbeService } from './health-probe.service';

/**
 * The dependency probes, shared by the API's /health (ApiModule wires its controller and
 * Terminus indicators) and the health_check task a worker runs.
 */
@Module({
  imports: [KbsModule],
  providers: [HealthProbeService],
  exports: [HealthProbeService],
})
export class HealthModule {}
