/** Reading Prometheus' text exposition in tests: samples, sums, and promtool's lint. */
import { spawnSync } from 'node:child_process';

export type Labels = Record<string, string>;
export interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

/** Prometheus' text format, one sample a line; HELP/TYPE comments skipped. */
export function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Labels = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of a metric's samples whose labels include `where`. */
export const sum = (samples: Sample[], name: string, where: Labels = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);

/**
 * What `promtool check metrics` says about an exposition: no problems is status 0 and no
 * output. Without promtool the check is skipped with a warning, except under CI=true.
 */
export function promtoolProblems(text: string): { status: number | null; problems: string } {
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  const error: NodeJS.ErrnoException | undefined = check.error;
  if (error?.code === 'ENOENT') {
    if (process.env.CI === 'true')
      throw new Error('promtool is not installed; CI installs it (.ci/run ensure_promtool)');
    console.warn('SKIPPED: promtool is not installed (apt-get install prometheus); /metrics was not linted');
    return { status: 0, problems: '' };
  }
  return { status: check.status, problems: `${check.stdout}${check.stderr}`.trim() };
}
