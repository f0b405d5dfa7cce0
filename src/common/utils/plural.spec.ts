import { countOf } from './plural';

describe('countOf', () => {
  it('uses the singular for exactly one and the plural otherwise', () => {
    expect(countOf(1, 'chunk')).toBe('1 chunk');
    expect(countOf(0, 'chunk')).toBe('0 chunks');
    expect(countOf(2, 'chunk')).toBe('2 chunks');
    expect(countOf(1, 'child task')).toBe('1 child task');
    expect(countOf(3, 'entry', 'entries')).toBe('3 entries');
  });
});
