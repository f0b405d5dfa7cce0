import type { ReportRow } from '../scenarios/types';
import type { TargetResult } from './targets';

export interface Section {
  title: string;
  rows: ReportRow[];
  error?: string;
  notes?: string[];
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - [...text].length));
}

/** The human-readable table: one block per scenario, then the targets. */
export function renderReport(header: string[], sections: Section[], targets: TargetResult[] | null): string {
  const lines: string[] = [];
  lines.push(...header, '');
  for (const section of sections) {
    // Per section, and capped, so one long profile frame name does not push every table right.
    const metricWidth = Math.min(64, Math.max(20, ...section.rows.map((r) => [...r.metric].length)));
    lines.push(`== ${section.title}`);
    if (section.error) lines.push(`  FAILED: ${section.error.split('\n')[0]}`);
    for (const row of section.rows) lines.push(`  ${pad(row.metric, metricWidth)}  ${row.value}`);
    for (const note of section.notes ?? []) lines.push(`  note: ${note}`);
    lines.push('');
  }
  if (targets) {
    const tw = Math.max(...targets.map((t) => [...t.target].length));
    const vw = Math.max(...targets.map((t) => [...t.value].length));
    lines.push('== Targets (issues 5 and 13)');
    for (const t of targets) {
      const mark = t.status === 'met' ? 'met   ' : t.status === 'missed' ? 'MISSED' : 'n/a   ';
      lines.push(`  ${mark}  ${pad(t.target, tw)}  ${pad(t.value, vw)}  ${t.by}`);
      if (t.bound) lines.push(`          bound: ${t.bound}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
