import { TaskType } from '../generated/prisma/enums';

/** Running tasks allowed at once per task type, across every worker process; absent types are uncapped. */
export type TaskTypeCaps = Partial<Record<TaskType, number>>;

const TASK_TYPE_NAMES = new Set<string>(Object.values(TaskType));

/**
 * What is wrong with a TASK_TYPE_MAX_CONCURRENCY value (`type:n,type:n`, n ≥ 1), or null
 * when it is valid (empty included). Each problem is named, so the boot error says which entry.
 */
export function taskTypeCapsProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'must be a string';
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const entry of value.split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    const match = /^([a-z_]+):(\d{1,6})$/.exec(entry);
    if (!match) problems.push(`"${entry}" is not task_type:limit`);
    else if (!TASK_TYPE_NAMES.has(match[1])) problems.push(`"${match[1]}" is not a task type`);
    else if (Number(match[2]) < 1) problems.push(`${match[1]}'s limit must be at least 1`);
    else if (seen.has(match[1])) problems.push(`${match[1]} is listed twice`);
    seen.add(match?.[1] ?? entry);
  }
  return problems.length > 0
    ? `${problems.join('; ')} (expected e.g. document_processing:4,embedding_generation:8)`
    : null;
}

/** The caps of a valid TASK_TYPE_MAX_CONCURRENCY value. */
export function parseTaskTypeCaps(value: string): TaskTypeCaps {
  const caps: TaskTypeCaps = {};
  for (const entry of value.split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    const [type, limit] = entry.split(':');
    caps[type as TaskType] = Number(limit);
  }
  return caps;
}
