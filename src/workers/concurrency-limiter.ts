/**
 * A counting semaphore. Each queue's BullMQ worker has its own concurrency; this caps the
 * tasks running at once across all six queues of a process (WORKER_CONCURRENCY).
 */
export class ConcurrencyLimiter {
  private running = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
  }

  get active(): number {
    return this.running;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  async acquire(): Promise<void> {
    if (this.running < this.limit) {
      this.running++;
      return;
    }
    // The releasing caller hands its slot straight to the next waiter, so `running` stays exact.
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else if (this.running > 0) this.running--;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}
