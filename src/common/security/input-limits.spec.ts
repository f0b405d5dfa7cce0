import { inspectJson, jsonDepthExceeds } from './input-limits';

const nest = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
  return value;
};

describe('jsonDepthExceeds', () => {
  it('counts containers, not scalars', () => {
    expect(jsonDepthExceeds('text', 1)).toBe(false);
    expect(jsonDepthExceeds({}, 1)).toBe(false);
    expect(jsonDepthExceeds({ a: { b: 1 } }, 1)).toBe(true);
    expect(jsonDepthExceeds(nest(32), 32)).toBe(false);
    expect(jsonDepthExceeds(nest(33), 32)).toBe(true);
  });

  it('finds a deep branch among wide shallow ones', () => {
    const wide = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, { v: i }]));
    expect(jsonDepthExceeds({ ...wide, deep: nest(40) }, 32)).toBe(true);
  });

  it('handles nesting far beyond the call stack without recursion', () => {
    expect(jsonDepthExceeds(JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`), 32)).toBe(true);
  });
});

describe('inspectJson', () => {
  it('finds NUL characters in strings and keys, at any depth', () => {
    expect(inspectJson({ a: ['ok', { b: 'x\u0000y' }] }, 32)).toBe('nul');
    expect(inspectJson({ 'k\u0000': 1 }, 32)).toBe('nul');
    expect(inspectJson('\u0000', 32)).toBe('nul');
    expect(inspectJson({ a: ['fine', 1, null, true, { b: 'ünïcødé 🙂' }] }, 32)).toBe(null);
  });
});
