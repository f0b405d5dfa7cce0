import { ConcurrencyLimiter } from './concurrency-limiter';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('ConcurrencyLimiter', () => {
  it('never runs more than its limit at once and runs everything', async () => {
    const limiter = new ConcurrencyLimiter(3);
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limiter.run(async () => {
          running++;
          peak = Math.max(peak, running);
          await tick();
          running--;
          done.push(i);
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(done).toHaveLength(20);
    expect(limiter.active).toBe(0);
  });

  it('serves waiters first come, first served', async () => {
    const limiter = new ConcurrencyLimiter(1);
    await limiter.acquire();
    const order: number[] = [];
    const a = limiter.acquire().then(() => order.push(1));
    const b = limiter.acquire().then(() => order.push(2));
    expect(limiter.waiting).toBe(2);
    limiter.release();
    await a;
    limiter.release();
    await b;
    expect(order).toEqual([1, 2]);
    limiter.release();
    expect(limiter.active).toBe(0);
  });

  it('releases the slot when the task throws', async () => {
    const limiter = new ConcurrencyLimiter(1);
    await expect(limiter.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(limiter.active).toBe(0);
  });

  it('rejects a non-positive limit', () => {
    expect(() => new ConcurrencyLimiter(0)).toThrow(RangeError);
  });
});
