import { setTimeout as delay } from 'node:timers/promises';
import { isDatabaseUnavailable } from '../common/errors/infrastructure-errors';

const FIRST_WAIT_MS = 100;
const MAX_WAIT_MS = 2000;

/**
 * Runs a write of a task's state until it lands, waiting out a PostgreSQL outage with
 * jittered exponential backoff (100 ms doubling to 2 s). Only "the database cannot be
 * reached" is waited out; any other error is the write's own and thrown at once. `held`
 * bounds the wait: once this process may no longer write for the task (grace period over,
 * job lock lost), its reason is thrown and the caller hands the task back or lets it go.
 *
 * Safe to repeat: every worker write is conditional on the attempt it claimed, so a write
 * that landed although its answer was lost changes nothing the second time.
 */
export async function untilWritten<T>(
  write: () => Promise<T>,
  held: AbortSignal,
  onOutage?: (error: Error) => void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    held.throwIfAborted();
    try {
      return await write();
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      if (attempt === 0) onOutage?.(error as Error);
      const wait = Math.min(MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
      // An abort ends the wait early; the loop's first line then throws its reason.
      await delay(wait, undefined, { signal: held }).catch(() => undefined);
    }
  }
}
