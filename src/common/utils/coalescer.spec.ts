import { Coalescer } from './coalescer';

/** A flush that records each batch it was given and answers after `release()`. */
function recordingFlush<T>(answer: (item: T) => unknown = (item) => item) {
  const batches: T[][] = [];
  const waiting: (() => void)[] = [];
  const flush = async (items: T[]) => {
    batches.push(items);
    await new Promise<void>((resolve) => waiting.push(resolve));
    return items.map((item) => {
      const outcome = answer(item);
      if (outcome instanceof Error) throw outcome;
      return outcome;
    });
  };
  const release = () => {
    waiting.splice(0).forEach((resolve) => {
      resolve();
    });
  };
  return { batches, flush, release };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('Coalescer', () => {
  it('flushes a lone item at once and gives each caller its own outcome', async () => {
    const { batches, flush, release } = recordingFlush<number>((n) => n * 10);
    const coalescer = new Coalescer(flush, { maxBatch: 10, maxInFlight: 1 });
    const outcome = coalescer.submit(1);
    await tick();
    expect(batches).toEqual([[1]]);
    release();
    await expect(outcome).resolves.toBe(10);
  });

  it('collects what arrives while a flush runs into the next flush, in order', async () => {
    const { batches, flush, release } = recordingFlush<number>((n) => n * 10);
    const coalescer = new Coalescer(flush, { maxBatch: 10, maxInFlight: 1 });
    const first = coalescer.submit(1);
    await tick();
    const later = [2, 3, 4].map((n) => coalescer.submit(n));
    await tick();
    expect(batches).toEqual([[1]]);
    release();
    await first;
    await tick();
    expect(batches).toEqual([[1], [2, 3, 4]]);
    release();
    await expect(Promise.all(later)).resolves.toEqual([20, 30, 40]);
  });

  it('never puts more than maxBatch items in one flush nor runs more than maxInFlight flushes', async () => {
    const { batches, flush, release } = recordingFlush<number>();
    const coalescer = new Coalescer(flush, { maxBatch: 2, maxInFlight: 2 });
    const all = [1, 2, 3, 4, 5].map((n) => coalescer.submit(n));
    await tick();
    expect(batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
    release();
    await tick();
    await tick();
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
    release();
    await expect(Promise.all(all)).resolves.toEqual([1, 2, 3, 4, 5]);
  });

  it('rejects every item of a failed flush when the error is not retried alone', async () => {
    const coalescer = new Coalescer<number, number>(() => Promise.reject(new Error('down')), {
      maxBatch: 10,
      maxInFlight: 1,
    });
    const outcomes = await Promise.allSettled([coalescer.submit(1), coalescer.submit(2)]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
  });

  it('retries items alone when told to, so only the bad item fails', async () => {
    const seen: number[][] = [];
    const flush = (items: number[]) => {
      seen.push(items);
      if (items.includes(2)) return Promise.reject(new Error('bad item 2'));
      return Promise.resolve(items.map((n) => n * 10));
    };
    const coalescer = new Coalescer(flush, { maxBatch: 10, maxInFlight: 1, retryAlone: () => true });
    const outcomes = await Promise.allSettled([1, 2, 3].map((n) => coalescer.submit(n)));
    expect(outcomes).toEqual([
      { status: 'fulfilled', value: 10 },
      { status: 'rejected', reason: new Error('bad item 2') },
      { status: 'fulfilled', value: 30 },
    ]);
    expect(seen).toEqual([[1, 2, 3], [1], [2], [3]]);
  });

  it('keeps working after a failed flush', async () => {
    let fail = true;
    const coalescer = new Coalescer<number, number>(
      (items) => (fail ? Promise.reject(new Error('once')) : Promise.resolve(items)),
      { maxBatch: 10, maxInFlight: 1 },
    );
    await expect(coalescer.submit(1)).rejects.toThrow('once');
    fail = false;
    await expect(coalescer.submit(2)).resolves.toBe(2);
  });
});
