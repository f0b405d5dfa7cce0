import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The import rules of STYLE.md, checked on the source: HTTP → use cases / lifecycle →
 * repositories and pipeline → common. Each folder of src/ sits in one layer; a file may
 * import from its own folder or from a folder in a lower layer, never sideways or up, and
 * folders never form a cycle. The files directly in src/ (entry point, role modules) sit
 * above every layer. Plain text parsing of import statements: no package needed.
 */
/** The layer order, top to bottom; eslint.config.mjs reads the same file for import/no-restricted-paths. */
const LAYERS: readonly { name: string; folders: readonly string[] }[] = JSON.parse(
  readFileSync(join(__dirname, 'layers.json'), 'utf8'),
) as { name: string; folders: string[] }[];

/**
 * Imports that still run against the layers, each with the reason. An entry that no longer
 * occurs fails the test, so the list only shrinks.
 */
const KNOWN_EXCEPTIONS: readonly { from: string; to: string; why: string }[] = [];

/** What only HTTP uses: a worker-role module must not reach any of it through its imports. */
const HTTP_FOLDERS = ['auth', 'admin', 'dashboard', 'openapi'];
const HTTP_FILE =
  /\.(controller|guard|interceptor|middleware|filter|pipe)\.ts$|presenter\.service\.ts$|^(api\.module|bootstrap)\.ts$/;

const SRC = __dirname;
const IMPORT =
  /^\s*(?:import|export)\s(?:[^'";]*?\sfrom\s)?['"](\.{1,2}\/[^'"]+)['"]|\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/gm;

interface SourceFile {
  path: string;
  imports: string[];
}

function sourceFiles(dir = SRC): SourceFile[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sourceFiles(path);
    if (!entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) return [];
    const text = readFileSync(path, 'utf8');
    const imports = [...text.matchAll(IMPORT)].map((match) => resolveImport(path, match[1] ?? match[2]));
    return [{ path: relative(SRC, path), imports }];
  });
}

/** `../tasks/dto/create-task.dto` from src/auth/x.ts → `tasks/dto/create-task.dto.ts` (or its index.ts). */
function resolveImport(from: string, specifier: string): string {
  const target = relative(SRC, resolve(dirname(from), specifier));
  return files.has(`${target}.ts`) || !files.has(`${target}/index.ts`) ? `${target}.ts` : `${target}/index.ts`;
}

const files = new Set(listPaths(SRC));
const sources = sourceFiles();

function listPaths(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listPaths(join(dir, entry.name)).map((p) => `${entry.name}/${p}`) : [entry.name],
  );
}

/** The top folder under src/, or null for a file directly in src/. */
function folderOf(path: string): string | null {
  const parts = path.split('/');
  return parts.length > 1 ? parts[0] : null;
}

function layerOf(folder: string): number {
  return LAYERS.findIndex((layer) => layer.folders.includes(folder));
}

const isException = (from: string, to: string): boolean => KNOWN_EXCEPTIONS.some((e) => e.from === from && e.to === to);

/** Every import between two folders of src/: from file, to file. */
const crossings = sources.flatMap((file) =>
  file.imports
    .filter((to) => folderOf(file.path) !== null && folderOf(to) !== null && folderOf(to) !== folderOf(file.path))
    .map((to) => ({ from: file.path, to })),
);

describe('import layers (STYLE.md)', () => {
  it('places every folder of src/ in exactly one layer', () => {
    const folders = new Set(sources.map((f) => folderOf(f.path)).filter((f): f is string => f !== null));
    const unplaced = [...folders].filter(
      (folder) => LAYERS.filter((layer) => layer.folders.includes(folder)).length !== 1,
    );
    expect(unplaced).toEqual([]);
  });

  it('has no import from a folder to one in the same or a higher layer', () => {
    const against = crossings
      .filter(({ from, to }) => layerOf(folderOf(to)!) <= layerOf(folderOf(from)!) && !isException(from, to))
      .map(
        ({ from, to }) =>
          `${from} → ${to} (${LAYERS[layerOf(folderOf(from)!)].name} → ${LAYERS[layerOf(folderOf(to)!)].name})`,
      );
    expect(against).toEqual([]);
  });

  it('has no cycle between folders outside the known exceptions', () => {
    const edges = new Map<string, Set<string>>();
    for (const { from, to } of crossings.filter((c) => !isException(c.from, c.to))) {
      const targets = edges.get(folderOf(from)!) ?? new Set<string>();
      edges.set(folderOf(from)!, targets.add(folderOf(to)!));
    }
    expect(findCycle(edges)).toBeNull();
  });

  it('lists only exceptions that still occur', () => {
    const stale = KNOWN_EXCEPTIONS.filter((e) => !crossings.some((c) => c.from === e.from && c.to === e.to));
    expect(stale).toEqual([]);
  });

  it('keeps HTTP code out of what the worker role loads', () => {
    const reached = closure('worker.module.ts');
    const http = [...reached].filter(
      (path) => HTTP_FOLDERS.includes(folderOf(path) ?? '') || HTTP_FILE.test(path.split('/').pop()!),
    );
    expect(http).toEqual([]);
    // The checks above only mean something if the walk followed the worker's imports.
    expect(reached).toContain('workers/task-lifecycle.ts');
  });

  it('reaches the API module only through a lazy import, so a worker process never loads it', () => {
    const appModule = sources.find((f) => f.path === 'app.module.ts')!;
    const text = readFileSync(join(SRC, 'app.module.ts'), 'utf8');
    expect(appModule.imports).toContain('api.module.ts');
    expect(text).not.toMatch(/^import[^;]*from '\.\/api\.module'/m);
  });
});

function closure(start: string): Set<string> {
  const byPath = new Map(sources.map((f) => [f.path, f]));
  const seen = new Set<string>();
  const pending = [start];
  while (pending.length > 0) {
    const path = pending.pop()!;
    if (seen.has(path) || !byPath.has(path)) continue;
    seen.add(path);
    pending.push(...byPath.get(path)!.imports);
  }
  return seen;
}

/** One cycle as `a → b → a`, or null. */
function findCycle(edges: Map<string, Set<string>>): string | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string | null => {
    if (state.get(node) === 'done') return null;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node].join(' → ');
    state.set(node, 'open');
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of edges.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}
