import { isAllowedHost, isPublicAddress } from './address-ranges';

describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    '[::1]',
    'fe80::1',
    'fe80::1%eth0',
    'fd12:3456::1',
    'fc00::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:169.254.169.254',
    '64:ff9b::a00:1',
    '2002:c0a8:0101::1',
    'not-an-ip',
  ])('refuses %s', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['8.8.8.8', '93.184.216.34', '172.32.0.1', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:0808:0808::1'])(
    'accepts %s',
    (address) => {
      expect(isPublicAddress(address)).toBe(true);
    },
  );
});

describe('isAllowedHost', () => {
  it('allows every host when the list is empty', () => {
    expect(isAllowedHost('anything.example', [])).toBe(true);
  });

  it('matches exact names and *. wildcards for subdomains only', () => {
    const list = ['hooks.example.com', '*.example.org'];
    expect(isAllowedHost('hooks.example.com', list)).toBe(true);
    expect(isAllowedHost('HOOKS.example.com.', list)).toBe(true);
    expect(isAllowedHost('a.b.example.org', list)).toBe(true);
    expect(isAllowedHost('example.org', list)).toBe(false);
    expect(isAllowedHost('evil-example.org', list)).toBe(false);
    expect(isAllowedHost('hooks.example.com.evil.net', list)).toBe(false);
  });
});
