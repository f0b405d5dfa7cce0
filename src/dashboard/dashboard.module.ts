import { Module } from '@nestjs/common';
import { DashboardController } from './dashboard.controller';

/** /dashboard: the page for people (API role). */
@Module({ controllers: [DashboardController] })
export class DashboardModule {}
