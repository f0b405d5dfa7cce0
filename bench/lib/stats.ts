/** Percentiles and rounding for the report. */

export interface Distribution {
  count: number;
  p50: number | null;
  p99: number | null;
  mean: number | null;
  max: number | null;
}

/** Nearest-rank percentile of an ascending array (the definition autocannon's HDR histograms approximate). */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  return {
    count: n,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: n === 0 ? null : sorted.reduce((a, b) => a + b, 0) / n,
    max: n === 0 ? null : sorted[n - 1],
  };
}

export function round(value: number | null | undefined, digits = 1): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function median(values: readonly number[]): number | null {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}
