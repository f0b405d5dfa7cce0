import { readdirSync, readFileSync } from 'node:fs';

/**
 * Readers of Linux /proc. The harness measures the service from outside (RSS, CPU time)
 * so that measuring costs the service nothing and needs no hook in src/.
 */

/** Kernel clock ticks per second for /proc/<pid>/stat times; 100 on every Linux build we run on. */
const CLOCK_TICKS = 100;

/** Resident set size in MiB (VmRSS), or null when the process is gone. */
export function readRssMb(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/**
 * User + system CPU seconds a process has used, or null when it is gone. With
 * `withReapedChildren`, plus what its exited children used (cutime + cstime).
 */
export function readCpuSeconds(pid: number, withReapedChildren = false): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime are fields 14-17 of the whole line, i.e. 11-14 after the name.
    const own = Number(fields[11]) + Number(fields[12]);
    const children = withReapedChildren ? Number(fields[13]) + Number(fields[14]) : 0;
    return (own + children) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** Pids whose command name (/proc/<pid>/comm) is exactly `name`, e.g. every `postgres` backend. */
export function pidsNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) pids.push(Number(entry));
    } catch {
      // The process ended between readdir and read.
    }
  }
  return pids;
}

/**
 * Summed CPU seconds of every process named `name`, including children they have reaped.
 * For PostgreSQL that keeps the sum monotonic: a backend that exits takes its CPU time with
 * it, but the postmaster reaps it and its time moves into the postmaster's cutime/cstime.
 */
export function cpuSecondsOfAll(name: string): number {
  return pidsNamed(name).reduce((sum, pid) => sum + (readCpuSeconds(pid, true) ?? 0), 0);
}

export function loadAverage(): [number, number, number] {
  const [one, five, fifteen] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
  return [one, five, fifteen];
}
