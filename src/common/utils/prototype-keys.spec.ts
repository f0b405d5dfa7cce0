import { stripPrototypeKeys } from './prototype-keys';

describe('stripPrototypeKeys', () => {
  it('removes __proto__, prototype and constructor keys at every depth and keeps the rest', () => {
    const body = JSON.parse(
      '{"a":1,"__proto__":{"polluted":true},"n":{"constructor":{"prototype":{"x":1}},"keep":[{"prototype":2,"b":3}]}}',
    );
    stripPrototypeKeys(body);
    expect(body).toStrictEqual({ a: 1, n: { keep: [{ b: 3 }] } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('leaves scalars and sparse arrays alone', () => {
    const sparse: unknown[] = [];
    sparse[1_000_000] = { constructor: 1 };
    stripPrototypeKeys(sparse);
    expect(sparse[1_000_000]).toStrictEqual({});
    expect(() => {
      stripPrototypeKeys('x');
    }).not.toThrow();
  });
});
