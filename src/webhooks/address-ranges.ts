import { BlockList, isIP } from 'node:net';

/**
 * IPv4 addresses a webhook must not reach unless private targets are allowed: anything that
 * is not the public internet — this host, the private networks, link-local (cloud metadata
 * at 169.254.169.254 included), carrier-grade NAT, multicast and reserved ranges.
 */
const NON_PUBLIC_IPV4 = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  NON_PUBLIC_IPV4.addSubnet(network, prefix, 'ipv4');
}

/**
 * The public IPv6 internet is global unicast, 2000::/3: everything outside it (loopback,
 * unique local, link-local, multicast, the reserved ::/8 with its NAT64 local-use prefix
 * 64:ff9b:1::/48, ...) is refused without a list. Inside it, these are not reachable hosts.
 */
const NON_PUBLIC_GLOBAL_IPV6 = new BlockList();
for (const [network, prefix] of [
  ['2001:2::', 48], // benchmarking
  ['2001:10::', 28], // ORCHID (deprecated)
  ['2001:20::', 28], // ORCHIDv2: identifiers, not locators
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation
] as const) {
  NON_PUBLIC_GLOBAL_IPV6.addSubnet(network, prefix, 'ipv6');
}

/**
 * Whether an IP address is on the public internet. An IPv6 form that carries an IPv4
 * address is judged by that address, since packets to it end up at the IPv4 host (through
 * the kernel, a NAT64 gateway or a tunnel relay): `[::ffff:127.0.0.1]`, `[::127.0.0.1]` and
 * `[64:ff9b::7f00:1]` are as local as 127.0.0.1.
 */
export function isPublicAddress(address: string): boolean {
  const plain = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(plain);
  if (family === 4) return !NON_PUBLIC_IPV4.check(plain, 'ipv4');
  if (family !== 6) return false;
  const groups = expandIpv6(plain);
  if (!groups) return false;
  const translated = translatedIpv4(groups);
  if (translated) return isPublicAddress(translated);
  if (!tunnelledIpv4(groups).every((ipv4) => isPublicAddress(ipv4))) return false;
  const globalUnicast = (groups[0] & 0xe000) === 0x2000;
  return globalUnicast && !NON_PUBLIC_GLOBAL_IPV6.check(plain, 'ipv6');
}

/** Whether `host` is on the allow-list: exact names, or `*.example.com` for its subdomains. An empty list allows every host. */
export function isAllowedHost(host: string, allowList: readonly string[]): boolean {
  if (allowList.length === 0) return true;
  const name = host.toLowerCase().replace(/\.$/, '');
  return allowList.some((entry) => (entry.startsWith('*.') ? name.endsWith(entry.slice(1)) : name === entry));
}

/**
 * The IPv4 address of an IPv6 form that stands for it, or null: the address means that
 * IPv4 host and nothing else.
 */
function translatedIpv4(g: readonly number[]): string | null {
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  // ::ffff:a.b.c.d, IPv4-mapped (RFC 4291).
  if (zeros(0, 5) && g[5] === 0xffff) return toIpv4(g[6], g[7]);
  // ::ffff:0:a.b.c.d, IPv4-translated (RFC 2765, SIIT).
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return toIpv4(g[6], g[7]);
  // ::a.b.c.d, IPv4-compatible (deprecated, RFC 4291); also covers :: and ::1, refused as 0.0.0.0/8.
  if (zeros(0, 6)) return toIpv4(g[6], g[7]);
  // 64:ff9b::a.b.c.d, the well-known NAT64 prefix (RFC 6052): a NAT64 gateway forwards to it.
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return toIpv4(g[6], g[7]);
  return null;
}

/**
 * IPv4 addresses a tunnelled IPv6 address leads to (each must be public as well as the IPv6
 * address itself): 6to4 relays to its 2002:AABB:CCDD:: router, Teredo to its server and to
 * the client's obfuscated address, ISATAP to the IPv4 address in its interface identifier.
 */
function tunnelledIpv4(g: readonly number[]): string[] {
  const found: string[] = [];
  // 6to4 (RFC 3056): 2002:AABB:CCDD::/48.
  if (g[0] === 0x2002) found.push(toIpv4(g[1], g[2]));
  // Teredo (RFC 4380): 2001:0:<server>:<flags>:<port>:<client XOR ffff:ffff>.
  if (g[0] === 0x2001 && g[1] === 0) found.push(toIpv4(g[2], g[3]), toIpv4(~g[6] & 0xffff, ~g[7] & 0xffff));
  // ISATAP (RFC 5214): any prefix, interface identifier [02]00:5efe:a.b.c.d (u/g bits aside).
  if ((g[4] & 0xfcff) === 0 && g[5] === 0x5efe) found.push(toIpv4(g[6], g[7]));
  return found;
}

/** The eight 16-bit groups of an IPv6 address (dotted IPv4 tails included); null if malformed. */
function expandIpv6(address: string): number[] | null {
  let text = address.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  if (text.includes('::') ? missing < 0 : missing !== 0) return null;
  const groups = [...left, ...Array<string>(text.includes('::') ? missing : 0).fill('0'), ...right].map((g) =>
    parseInt(g, 16),
  );
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

function toIpv4(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}
