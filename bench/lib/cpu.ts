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
