import { parseApiKeys, sha256Hex } from './api-keys';

const digest = (key: string) => sha256Hex(key);

describe('parseApiKeys', () => {
  it('reads the JSON form', () => {
    const raw = JSON.stringify([
      { name: 'svc-a', sha256: digest('a').toUpperCase(), role: 'write', kb_ids: ['kb_1', 'kb_1', 'kb_2'] },
      { name: 'ops', sha256: digest('b'), role: 'admin' },
    ]);
    expect(parseApiKeys(raw)).toEqual([
      { name: 'svc-a', sha256: digest('a'), role: 'write', kbIds: ['kb_1', 'kb_2'] },
      { name: 'ops', sha256: digest('b'), role: 'admin', kbIds: null },
    ]);
  });

  it('reads the compact form', () => {
    expect(parseApiKeys(` svc-a:write:${digest('a')}:kb_1|kb_2 , ops:admin:${digest('b')}`)).toEqual([
      { name: 'svc-a', sha256: digest('a'), role: 'write', kbIds: ['kb_1', 'kb_2'] },
      { name: 'ops', sha256: digest('b'), role: 'admin', kbIds: null },
    ]);
  });

  it('is empty for an empty value', () => {
    expect(parseApiKeys('  ')).toEqual([]);
  });

  it.each([
    ['[{"name":"x"', /not valid JSON/],
    ['{"name":"x"}', /must be a JSON array/],
    [
      JSON.stringify([{ name: 'x', sha256: 'plaintext-key', role: 'read' }]),
      /entry 1 \(x\): sha256 must be the 64-hex-digit/,
    ],
    [
      JSON.stringify([{ name: 'x', sha256: digest('a'), role: 'root' }]),
      /role must be one of read, write, worker, admin/,
    ],
    [
      JSON.stringify([{ name: 'x', sha256: digest('a'), role: 'read', kb_ids: [] }]),
      /kb_ids must be a non-empty array/,
    ],
    [
      JSON.stringify([{ name: 'x', sha256: digest('a'), role: 'read', kb_ids: ['bad kb'] }]),
      /"bad kb" is not a valid kb_id/,
    ],
    [JSON.stringify([{ name: 'x', sha256: digest('a'), role: 'read', kbids: ['kb_1'] }]), /unknown field\(s\) kbids/],
    [
      JSON.stringify([
        { name: 'x', sha256: digest('a'), role: 'read' },
        { name: 'x', sha256: digest('b'), role: 'read' },
      ]),
      /name x is used twice/,
    ],
    [
      JSON.stringify([
        { name: 'x', sha256: digest('a'), role: 'read' },
        { name: 'y', sha256: digest('a'), role: 'read' },
      ]),
      /same key digest is configured twice/,
    ],
    ['x:read', /expected name:role:sha256/],
  ])('refuses %s', (raw, message) => {
    expect(() => parseApiKeys(raw)).toThrow(message);
  });

  it('never echoes a digest in its errors', () => {
    const raw = JSON.stringify([{ name: 'x', sha256: digest('a'), role: 'root' }]);
    expect(() => parseApiKeys(raw)).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining(digest('a')) }),
    );
  });
});
