import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import * as ts from 'typescript';

/**
 * The persistence boundary (issue 12): SQL and Prisma live in repositories only. Outside
 * `*.repository.ts`, src/prisma/ and src/generated/, a file must not
 * - import PrismaService, anything of src/generated/prisma other than `enums` (the task
 *   type, status and priority constants, which carry no database access), `pg` or `@prisma/*`;
 * - call `$queryRaw`, `$executeRaw` (or their `Unsafe` forms) or `$transaction`.
 * Allowed: the `enums` module, values included; a type-only import of `UnitOfWork`
 * (src/prisma/unit-of-work.ts), which services pass from one repository to another without
 * using it; a type-only import of Prisma's row types in a row mapper (`*-rows.ts`), which maps
 * rows to domain records for the repositories; and PrismaModule, which app.module.ts wires in.
 */
const ROOT = resolve(__dirname, '..', '..');

/**
 * Files that may still cross the boundary, and why. Empty since the task engine (issue 12)
 * took the last task writes into its repositories; the test fails on an entry that no longer
 * crosses, so the list cannot go stale.
 */
const PENDING: Record<string, string> = {};

const RAW_SQL = /^\$(queryRaw|executeRaw)(Unsafe)?$|^\$transaction$/;

function isExempt(path: string): boolean {
  return path.startsWith('src/generated/') || path.startsWith('src/prisma/') || path.endsWith('.repository.ts');
}

function isTypeOnly(node: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isExportDeclaration(node)) return node.isTypeOnly;
  const clause = node.importClause;
  if (!clause) return false;
  if (clause.phaseModifier === ts.SyntaxKind.TypeKeyword) return true;
  const bindings = clause.namedBindings;
  return (
    !clause.name &&
    bindings !== undefined &&
    ts.isNamedImports(bindings) &&
    bindings.elements.every((e) => e.isTypeOnly)
  );
}

/** Why importing `specifier` from `path` crosses the boundary, or null when it does not. */
function importProblem(path: string, specifier: string, typeOnly: boolean): string | null {
  if (specifier === 'pg' || specifier.startsWith('@prisma/')) return `imports ${specifier}`;
  if (!specifier.startsWith('.')) return null;
  const target = relative(ROOT, resolve(ROOT, dirname(path), specifier))
    .replace(/\\/g, '/')
    .replace(/\.ts$/, '');
  if (target === 'src/prisma/prisma.service') return 'imports PrismaService';
  if (target === 'src/prisma/unit-of-work')
    return typeOnly ? null : 'imports UnitOfWork as a value (use `import type`)';
  if (target === 'src/generated/prisma/client' && typeOnly && path.endsWith('-rows.ts')) return null;
  if (target === 'src/generated/prisma/enums' || target === 'src/prisma/prisma.module') return null;
  if (target.startsWith('src/generated/prisma') || target.startsWith('src/prisma/')) return `imports ${target}`;
  return null;
}

/** Every crossing in one file's text, as `line: what`. */
function crossings(path: string, text: string): string[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const at = (node: ts.Node, what: string) =>
    found.push(`${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${what}`);
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      const problem = importProblem(path, node.moduleSpecifier.text, isTypeOnly(node));
      if (problem) at(node, problem);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      const problem = importProblem(path, node.arguments[0].text, false);
      if (problem) at(node, problem);
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      const problem = importProblem(path, node.argument.literal.text, true);
      if (problem) at(node, problem);
    } else if (
      (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node)) &&
      RAW_SQL.test(accessedName(node))
    ) {
      at(node, `calls ${accessedName(node)}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function accessedName(node: ts.PropertyAccessExpression | ts.ElementAccessExpression): string {
  if (ts.isPropertyAccessExpression(node)) return node.name.text;
  return ts.isStringLiteral(node.argumentExpression) ? node.argumentExpression.text : '';
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('persistence boundary', () => {
  const checked = sourceFiles('src').filter((path) => !isExempt(path));
  const found = new Map(
    checked.map((path) => [path, crossings(path, readFileSync(join(ROOT, path), 'utf8'))] as const),
  );

  it('finds no Prisma, pg or raw SQL outside repositories, src/prisma and src/generated', () => {
    const offenders = [...found]
      .filter(([path, list]) => list.length > 0 && !(path in PENDING))
      .map(([path, list]) => `${path}\n  ${list.join('\n  ')}`);
    expect(offenders).toEqual([]);
  });

  it('lists as pending only files that still cross it', () => {
    const clean = Object.keys(PENDING).filter((path) => (found.get(path) ?? []).length === 0);
    expect(clean).toEqual([]);
  });

  it('checks a meaningful set of files', () => {
    expect(checked).toContain('src/stats/stats.service.ts');
    expect(checked).not.toContain('src/stats/stats.repository.ts');
    expect(checked.some((path) => path.startsWith('src/generated/'))).toBe(false);
  });

  describe('the checker itself', () => {
    const at = 'src/stats/example.service.ts';

    it.each([
      ["import { PrismaService } from '../prisma/prisma.service';", 'imports PrismaService'],
      ["import type { PrismaService } from '../prisma/prisma.service';", 'imports PrismaService'],
      ["import { Prisma } from '../generated/prisma/client';", 'imports src/generated/prisma/client'],
      ["import type { Task } from '../generated/prisma/client';", 'imports src/generated/prisma/client'],
      ["import { Pool } from 'pg';", 'imports pg'],
      ["import { PrismaPg } from '@prisma/adapter-pg';", 'imports @prisma/adapter-pg'],
      ["import { UnitOfWork } from '../prisma/unit-of-work';", 'imports UnitOfWork as a value (use `import type`)'],
      ["const m = await import('../prisma/prisma.service');", 'imports PrismaService'],
      ["let t: import('../generated/prisma/client').Task;", 'imports src/generated/prisma/client'],
      ['await db.$queryRaw`SELECT 1`;', 'calls $queryRaw'],
      ["await db.$executeRawUnsafe('DROP TABLE x');", 'calls $executeRawUnsafe'],
      ["await db['$executeRaw']`DELETE FROM x`;", 'calls $executeRaw'],
      ['await db.$transaction(async (tx) => tx);', 'calls $transaction'],
    ])('flags %s', (line, problem) => {
      expect(crossings(at, line)).toEqual([`1: ${problem}`]);
    });

    it.each([
      "import { TaskStatus } from '../generated/prisma/enums';",
      "import type { UnitOfWork } from '../prisma/unit-of-work';",
      "import { type UnitOfWork } from '../prisma/unit-of-work';",
      "import { PrismaModule } from '../prisma/prisma.module';",
      "import { StatsRepository } from './stats.repository';",
      'const queryRaw = 1;',
    ])('allows %s', (line) => {
      expect(crossings(at, line)).toEqual([]);
    });
  });
});
