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

  // Every IPv6 form that carries an IPv4 address, written the ways a URL or a DNS answer can.
  it.each([
    ['IPv4-compatible, dotted', '[::127.0.0.1]'],
    ['IPv4-compatible, as the URL parser writes it', '::7f00:1'],
    ['IPv4-compatible, link-local', '::169.254.169.254'],
    ['IPv4-mapped, expanded', '0:0:0:0:0:ffff:7f00:1'],
    ['IPv4-translated (SIIT), dotted', '[::ffff:0:127.0.0.1]'],
    ['IPv4-translated (SIIT), hex', '::ffff:0:a00:1'],
    ['NAT64 well-known prefix, dotted', '64:ff9b::127.0.0.1'],
    ['NAT64 well-known prefix, private', '64:ff9b::c0a8:101'],
    ['NAT64 local-use prefix', '[64:ff9b:1::7f00:1]'],
    ['NAT64 local-use prefix, public IPv4 inside', '64:ff9b:1:ffff::808:808'],
    ['rest of the reserved ::/8', '64:ff9b:0:0:1::7f00:1'],
    ['6to4 of loopback', '2002:7f00:1::1'],
    ['6to4 of a private network', '2002:a00:1:1::1'],
    ['Teredo with a loopback client (obfuscated 127.0.0.1)', '2001:0:808:808:0:0:80ff:fffe'],
    ['Teredo with a private server', '2001:0:a00:1::f7f7:f7f7'],
    ['ISATAP, private IPv4 inside', '2607:f8b0::5efe:10.0.0.1'],
    ['ISATAP with the u bit, loopback inside', '2607:f8b0::200:5efe:7f00:1'],
    ['benchmarking', '2001:2::1'],
    ['ORCHIDv2', '2001:20::1'],
    ['documentation (3fff::/20)', '3fff::1'],
    ['outside global unicast', '4000::1'],
  ])('refuses %s: %s', (_form, address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each([
    '8.8.8.8',
    '93.184.216.34',
    '172.32.0.1',
    '1.1.1.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '::ffff:0:8.8.8.8',
    '64:ff9b::808:808',
    '64:ff9b::8.8.8.8',
    '2002:0808:0808::1',
    '2001:0:808:808:0:0:f7f7:f7f7',
    '2607:f8b0::200:5efe:808:808',
  ])('accepts %s', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });
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
