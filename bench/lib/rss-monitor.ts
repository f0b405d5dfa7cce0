import { readRssMb } from './proc';
import { median, round } from './stats';

export interface RssSample {
  /** Seconds since the monitor started. */
  t: number;
  phase: string;
  role: string;
  pid: number;
  mb: number;
}

export interface RssSummary {
  role: string;
  samples: number;
  startMb: number | null;
  endMb: number | null;
  maxMb: number | null;
}

/**
 * Samples VmRSS of the service's processes twice a second for the whole run, labelled with
 * the scenario running at the time, so every scenario reports its memory high-water mark
 * and the steady run can tell growth from a GC sawtooth.
 */
export class RssMonitor {
  private readonly samples: RssSample[] = [];
  private timer?: NodeJS.Timeout;
  private phase = 'idle';
  private readonly started = Date.now();

  constructor(
    private readonly targets: () => { role: string; pid: number }[],
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.sample();
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  setPhase(phase: string): void {
    this.phase = phase;
    this.sample();
  }

  sample(): void {
    const t = (Date.now() - this.started) / 1000;
    for (const { role, pid } of this.targets()) {
      const mb = readRssMb(pid);
      if (mb !== null) this.samples.push({ t, phase: this.phase, role, pid, mb });
    }
  }

  /** RSS of each service process right now (a sample is also recorded under the current phase). */
  now(): { role: string; mb: number }[] {
    return this.targets().flatMap(({ role, pid }) => {
      const mb = readRssMb(pid);
      return mb === null ? [] : [{ role, mb: round(mb, 1) ?? mb }];
    });
  }

  /** Per role: first, last and highest RSS seen during `phase` (every phase when omitted). */
  summary(phase?: string): RssSummary[] {
    const picked = this.samples.filter((s) => phase === undefined || s.phase === phase);
    const roles = [...new Set(picked.map((s) => s.role))];
    return roles.map((role) => {
      // With several workers, the heaviest process of the role at each instant.
      const byTime = new Map<number, number>();
      for (const s of picked.filter((x) => x.role === role)) byTime.set(s.t, Math.max(byTime.get(s.t) ?? 0, s.mb));
      const series = [...byTime.values()];
      return {
        role,
        samples: series.length,
        startMb: round(series[0], 1),
        endMb: round(series[series.length - 1], 1),
        maxMb: round(series.length ? Math.max(...series) : null, 1),
      };
    });
  }

  /**
   * Whether RSS grew over `phase`: the median of its last tenth against the median of its
   * first tenth (medians, so one GC cycle either side does not decide it). Growth counts
   * when it is both over 10 % and over 20 MiB.
   */
  growth(phase: string, role: string): { firstMb: number | null; lastMb: number | null; grew: boolean | null } {
    const series = this.samples.filter((s) => s.phase === phase && s.role === role).map((s) => s.mb);
    if (series.length < 10) return { firstMb: null, lastMb: null, grew: null };
    const tenth = Math.max(1, Math.floor(series.length / 10));
    const first = median(series.slice(0, tenth));
    const last = median(series.slice(-tenth));
    if (first === null || last === null) return { firstMb: null, lastMb: null, grew: null };
    return { firstMb: round(first, 1), lastMb: round(last, 1), grew: last - first > Math.max(20, first * 0.1) };
  }
}
