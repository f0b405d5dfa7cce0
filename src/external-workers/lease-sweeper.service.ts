import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { errorMessage } from '../common/errors/error-message';
import { TaskStateService } from '../task-engine/task-state.service';
import { TaskLeaseService } from './task-lease.service';

/** How often expired leases are looked for: a lease ends at most about this long after its time. */
const SWEEP_INTERVAL_MS = 1000;
/** Leases ended per statement; a pass repeats until fewer come back. */
const BATCH = 500;

/**
 * Ends leases whose external worker stopped heartbeating (crashed, killed, cut off): each task
 * goes back to the queue as a failed attempt, or fails when it has no attempt left — what
 * BullMQ's stall detection does for the built-in workers. Runs in every API process; the
 * engine's sweep skips rows another process is ending (SKIP LOCKED) and re-checks each one, so
 * several sweepers never end a lease twice.
 */
@Injectable()
export class LeaseSweeperService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LeaseSweeperService.name);
  private timer?: NodeJS.Timeout;
  private running = false;
  /** The last pass failed: the next failure is not logged again (PostgreSQL down would say so every second). */
  private failing = false;

  constructor(
    private readonly engine: TaskStateService,
    private readonly leases: TaskLeaseService,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One pass; how many leases it ended. */
  async sweep(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    let ended = 0;
    try {
      for (;;) {
        const tasks = await this.engine.expireLeases(BATCH);
        await this.leases.leasesEnded(tasks);
        ended += tasks.length;
        if (tasks.length < BATCH) break;
      }
      if (ended > 0) this.logger.warn(`Ended ${ended} expired lease(s) of external workers`);
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.logger.warn(`Lease sweep failed: ${errorMessage(error)}`);
      this.failing = true;
    } finally {
      this.running = false;
    }
    return ended;
  }
}
