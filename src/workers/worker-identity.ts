import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** The id this process reports as `worker_id`: readable (host and pid) and unique across restarts. */
export const WORKER_ID = Symbol('WORKER_ID');

export function makeWorkerId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9-]/g, '')
      .slice(0, 40) || 'host';
  return `worker_${host}_${process.pid}_${randomBytes(2).toString('hex')}`;
}
