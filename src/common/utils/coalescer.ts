/**
 * Group commit for concurrent callers: items submitted while a flush is running wait and go
 * together in the next one, so N concurrent writes cost one round trip instead of N. A lone
 * item is flushed at once (after the current macrotask, to collect what the same I/O
 * callback batch submits), so an idle service pays no added latency.
 *
 * `flush` gets the items in submission order and must return one outcome per item, in the
 * same order. When it throws, every item of that flush rejects with the error — unless
 * `retryAlone` says the error may belong to one item (bad data rather than an outage): then
 * each item is flushed again on its own, so one caller's bad item cannot fail the others.
 */
export class Coalescer<In, Out> {
  private pending: { item: In; resolve: (value: Out) => void; reject: (error: unknown) => void }[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly flush: (items: In[]) => Promise<Out[]>,
    private readonly options: { maxBatch: number; maxInFlight: number; retryAlone?: (error: unknown) => boolean },
  ) {}

  submit(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight || this.pending.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    while (this.inFlight < this.options.maxInFlight && this.pending.length > 0) {
      const batch = this.pending.splice(0, this.options.maxBatch);
      this.inFlight++;
      void this.run(batch);
    }
  }

  private async run(batch: typeof this.pending): Promise<void> {
    try {
      const outcomes = await this.flush(batch.map((entry) => entry.item));
      if (outcomes.length !== batch.length)
        throw new Error(`Coalesced flush returned ${outcomes.length} outcomes for ${batch.length} items`);
      batch.forEach((entry, i) => {
        entry.resolve(outcomes[i]);
      });
    } catch (error) {
      if (batch.length > 1 && this.options.retryAlone?.(error))
        await Promise.all(batch.map((entry) => this.runAlone(entry)));
      else for (const entry of batch) entry.reject(error);
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }

  private async runAlone(entry: (typeof this.pending)[number]): Promise<void> {
    try {
      const [outcome] = await this.flush([entry.item]);
      entry.resolve(outcome);
    } catch (error) {
      entry.reject(error);
    }
  }
}
