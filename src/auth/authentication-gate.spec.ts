import type { IncomingMessage } from 'node:http';
import { clientAddress } from './authentication-gate.service';

const from = (ip: string) => clientAddress({ ip } as IncomingMessage & { ip: string });

describe('clientAddress', () => {
  it('names an IPv4 client, mapped or not, by its address', () => {
    expect(from('203.0.113.7')).toBe('ip:203.0.113.7');
    expect(from('::ffff:203.0.113.7')).toBe('ip:203.0.113.7');
  });

  it('names an IPv6 client by its /64, so rotating through the /64 it is given counts as one client', () => {
    expect(from('2001:db8:1:2:3:4:5:6')).toBe(from('2001:db8:1:2:ffff::1'));
    expect(from('2001:db8:1:2::1')).not.toBe(from('2001:db8:1:3::1'));
  });
});
