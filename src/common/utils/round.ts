/** Rounds to `digits` decimals, for figures shown to people (seconds, percentages, scores). */
export function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
