import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { KbsModule } from '../kbs/kbs.module';
import { DatabaseHealthRepository } from './database-health.repository';
import { HealthController } from './health.controller';
import { HealthProbeService } from './health-probe.service';
import { DependencyHealthIndicators } from './indicators/dependency.health';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), KbsModule],
  controllers: [HealthController],
  providers: [DatabaseHealthRepository, HealthProbeService, DependencyHealthIndicators],
  exports: [HealthProbeService],
})
export class HealthModule {}
