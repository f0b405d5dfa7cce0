import { cpuSecondsOfAll, readCpuSeconds } from './proc';
import { round } from './stats';

/** CPU seconds used so far by each part of the system under test. */
export interface CpuSnapshot {
  service: Record<string, number>;
  postgres: number;
  redis: number;
  harness: number;
}

export function cpuSnapshot(service: { role: string; pid: number }[], redisPid: number | null): CpuSnapshot {
  const byRole: Record<string, number> = {};
  for (const { role, pid } of service) byRole[role] = (byRole[role] ?? 0) + (readCpuSeconds(pid) ?? 0);
  const own = process.cpuUsage();
  return {
    service: byRole,
    // Every postgres process on the machine: our backends, but also anyone else's load.
    postgres: cpuSecondsOfAll('postgres'),
    redis: redisPid === null ? 0 : (readCpuSeconds(redisPid) ?? 0),
    harness: (own.user + own.system) / 1e6,
  };
}

/** CPU milliseconds per unit of work (per task) between two snapshots, by component. */
export function cpuPerUnit(before: CpuSnapshot, after: CpuSnapshot, units: number): Record<string, number | null> {
  const per = (a: number, b: number) => round(((b - a) * 1000) / Math.max(units, 1), 3);
  const out: Record<string, number | null> = {};
  for (const role of Object.keys(after.service))
    out[`service_${role}`] = per(before.service[role] ?? 0, after.service[role]);
  out.postgres = per(before.postgres, after.postgres);
  out.redis = per(before.redis, after.redis);
  out.harness = per(before.harness, after.harness);
  return out;
}

/** CPU seconds used while `work` ran, by each process `pids` names (read before and after) and by the harness. */
export async function withCpu<T>(
  pids: { role: string; pid: number }[],
  work: () => Promise<T>,
): Promise<{ result: T; seconds: Record<string, number>; harnessSeconds: number }> {
  const read = () => {
    const byRole: Record<string, number> = {};
    for (const { role, pid } of pids) byRole[role] = (byRole[role] ?? 0) + (readCpuSeconds(pid) ?? 0);
    return byRole;
  };
  const before = read();
  const ownBefore = process.cpuUsage();
  const result = await work();
  const after = read();
  const own = process.cpuUsage(ownBefore);
  const seconds: Record<string, number> = {};
  for (const role of Object.keys(after)) seconds[role] = after[role] - (before[role] ?? 0);
  return { result, seconds, harnessSeconds: (own.user + own.system) / 1e6 };
}

/** Microseconds of CPU per request of every role, and of all of them together as `total`. */
export function microsPerRequest(seconds: Record<string, number>, requests: number): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  let total = 0;
  for (const [role, s] of Object.entries(seconds)) {
    out[role] = requests > 0 ? round((s * 1e6) / requests, 0) : null;
    total += s;
  }
  out.total = requests > 0 ? round((total * 1e6) / requests, 0) : null;
  return out;
}
