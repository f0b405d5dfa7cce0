/** Helpers every test tier uses; nothing here loads the application. */
import { randomBytes } from 'node:crypto';

/** Polls `probe` until `done` holds or the deadline passes; never a fixed sleep. */
export async function waitFor<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 15000, intervalMs = 50, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!done(last)) {
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    last = await probe();
  }
  return last;
}

/**
 * The kbs one test file makes, so that it can clean up after itself: tasks it leaves queued
 * in the shared test database would be dispatched by other test apps' reconcilers.
 */
export class KbTracker {
  readonly ids: string[] = [];

  kb = (label: string): string => {
    const id = uniqueKb(label);
    this.ids.push(id);
    return id;
  };
}

export function uniqueKb(label: string): string {
  return `kb_${label}_${randomBytes(4).toString('hex')}`;
}
