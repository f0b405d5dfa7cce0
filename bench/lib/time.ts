/** Time helpers. Every wait in the harness has a deadline, so a stuck phase fails instead of hanging CI. */

export class DeadlineError extends Error {}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Monotonic microseconds, on the same clock V8 stamps `.cpuprofile` samples with (CLOCK_MONOTONIC). */
export const monotonicMicros = (): number => Number(process.hrtime.bigint() / 1000n);

export const nowMs = (): number => performance.now();

/** Rejects with a DeadlineError naming `what` if `work` has not settled within `ms`. */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new DeadlineError(`${what} did not finish within ${Math.round(ms / 1000)} s`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Calls `probe` every `intervalMs` until `done(value)` holds, and returns that value.
 * Throws a DeadlineError (with the last value seen) once `timeoutMs` has passed.
 */
export async function pollUntil<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  options: { intervalMs: number; timeoutMs: number; what: string; describe?: (value: T) => string },
): Promise<T> {
  const deadline = nowMs() + options.timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (nowMs() >= deadline) {
      const last = options.describe ? ` (last: ${options.describe(value)})` : '';
      throw new DeadlineError(`${options.what} not reached within ${Math.round(options.timeoutMs / 1000)} s${last}`);
    }
    await sleep(options.intervalMs);
  }
}
