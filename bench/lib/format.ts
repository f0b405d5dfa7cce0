/** Number formatting for the table: thousands separators, fixed units, '—' for unknown. */

export function num(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return `${num(value, value < 10 ? 2 : 1)} ms`;
}

export function pair(a: number | null | undefined, b: number | null | undefined, unit = 'ms'): string {
  const f = (v: number | null | undefined) =>
    v === null || v === undefined || !Number.isFinite(v) ? '—' : num(v, v < 10 ? 2 : 1);
  return `${f(a)} / ${f(b)} ${unit}`;
}

export function mb(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${num(value, 0)} MB`;
}

export function ratio(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : `${num(value, 2)}×`;
}
