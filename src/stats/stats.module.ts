import { Module } from '@nestjs/common';
import { StatsRepository } from './stats.repository';
import { StatsService } from './stats.service';

/** Task and timeseries statistics (API role only; the controller is in ApiModule). */
@Module({ providers: [StatsRepository, StatsService], exports: [StatsService] })
export class StatsModule {}
