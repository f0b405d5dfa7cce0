import { Module } from '@nestjs/common';
import { StatsService } from './stats.service';

/** Task and timeseries statistics (API role only; the controller is in ApiModule). */
@Module({ providers: [StatsService], exports: [StatsService] })
export class StatsModule {}
