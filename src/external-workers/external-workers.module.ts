import { Module } from '@nestjs/common';
import { TasksModule } from '../tasks/tasks.module';
import { LeaseSweeperService } from './lease-sweeper.service';
import { TaskLeaseService } from './task-lease.service';

/**
 * External workers (API role only): the long-polling lease and the sweeper that ends expired
 * leases. The controller is wired in ApiModule with the others; state changes are the task
 * engine's.
 */
@Module({
  imports: [TasksModule],
  providers: [TaskLeaseService, LeaseSweeperService],
  exports: [TaskLeaseService],
})
export class ExternalWorkersModule {}
