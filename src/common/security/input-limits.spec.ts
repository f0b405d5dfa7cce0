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
    expect(inspectJson({ a: ['ok', { b: 'x\u0000y' }] }, 32)).toEqual({ kind: 'nul', path: 'a[1].b' });
    expect(inspectJson({ 'k\u0000': 1 }, 32)).toEqual({ kind: 'nul', path: 'k\\u0000' });
    expect(inspectJson('\u0000', 32)).toEqual({ kind: 'nul', path: '' });
    expect(inspectJson({ a: ['fine', 1, null, true, { b: 'ünïcødé 🙂' }] }, 32)).toBe(null);
  });

  it('finds lone surrogates, high or low, in strings and keys, and keeps surrogate pairs', () => {
    expect(inspectJson([{ note: 'a\ud800b' }], 32)).toEqual({ kind: 'lone-surrogate', path: '[0].note' });
    expect(inspectJson({ list: ['ok', '\udc00'] }, 32)).toEqual({ kind: 'lone-surrogate', path: 'list[1]' });
    expect(inspectJson({ 'k\ud83d': 1 }, 32)).toEqual({ kind: 'lone-surrogate', path: 'k\\ud83d' });
    expect(inspectJson({ ok: '😀\ud83d\ude00', key: { '🙂': 'x' } }, 32)).toBe(null);
  });

  it('finds reserved key names at any depth, and allows them as values', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      expect(inspectJson(JSON.parse(`{"payload":{"x":[{"${key}":1}]}}`), 32)).toEqual({
        kind: 'reserved-key',
        path: `payload.x[0].${key}`,
      });
    }
    expect(inspectJson({ note: 'constructor', list: ['__proto__'] }, 32)).toBe(null);
  });

  it('finds numbers JSON.parse made infinite, and keeps large finite ones', () => {
    expect(inspectJson(JSON.parse('{"a":[1,{"b":-1e400}]}'), 32)).toEqual({ kind: 'out-of-range', path: 'a[1].b' });
    expect(inspectJson(JSON.parse('{"a":123456789012345678901234567890,"b":1.7e308,"c":4.9e-324}'), 32)).toBe(null);
  });
});
