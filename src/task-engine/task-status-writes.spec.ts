import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The task engine is the only writer of task state: this walks src/ and fails when a file
 * outside src/task-engine/ writes the tasks table — a Prisma write on the task model or an
 * UPDATE/INSERT of `tasks` in SQL — so a new shortcut around the transition table is caught
 * in review rather than in production.
 */
const SRC = join(__dirname, '..');
const ENGINE = 'task-engine/';

const TASK_WRITES: [string, RegExp][] = [
  [
    'Prisma write on the task model',
    /\.task\s*\.\s*(update|updateMany|updateManyAndReturn|create|createMany|createManyAndReturn|upsert)\s*\(/,
  ],
  ['SQL UPDATE of tasks', /\bUPDATE\s+tasks\b/i],
  ['SQL INSERT into tasks', /\bINSERT\s+INTO\s+tasks\b/i],
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

function writesIn(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  return TASK_WRITES.filter(([, pattern]) => pattern.test(text)).map(([what]) => what);
}

describe('task status writes', () => {
  const files = sourceFiles(SRC).map((path) => ({ path, name: relative(SRC, path).split('\\').join('/') }));

  it('happen only in the task engine', () => {
    const outside = files
      .filter(({ name }) => !name.startsWith(ENGINE))
      .flatMap(({ path, name }) => writesIn(path).map((what) => `${name}: ${what}`));
    expect(outside).toEqual([]);
  });

  it('are recognised where they do happen (the patterns still match the engine’s own writes)', () => {
    const engineWrites = files.filter(({ name }) => name.startsWith(ENGINE)).flatMap(({ path }) => writesIn(path));
    expect(new Set(engineWrites)).toEqual(new Set(TASK_WRITES.map(([what]) => what)));
  });

  it('catch the shapes of a status write', () => {
    const caught = (text: string) => TASK_WRITES.some(([, pattern]) => pattern.test(text));
    expect(caught("await tx.task.updateMany({ where: { id }, data: { status: 'failed' } })")).toBe(true);
    expect(caught('this.prisma.task\n  .update({ where: { id }, data: { status } })')).toBe(true);
    expect(caught("pool.query(`update tasks set status = 'queued' where id = $1`)")).toBe(true);
    expect(caught('INSERT INTO tasks (id) VALUES ($1)')).toBe(true);
    expect(caught('await this.prisma.task.findMany({ where: { status } })')).toBe(false);
  });
});
