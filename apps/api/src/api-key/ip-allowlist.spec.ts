import { ipAllowed, normalizeCidr, parseAllowlist } from './ip-allowlist';

describe('IP allowlists', () => {
  it('normalises IPv4, IPv6 and IPv4-mapped entries', () => {
    expect(normalizeCidr('10.0.0.0/8')).toBe('10.0.0.0/8');
    expect(normalizeCidr(' 10.1.2.3/8 ')).toBe('10.0.0.0/8');
    expect(normalizeCidr('127.0.0.1')).toBe('127.0.0.1/32');
    expect(normalizeCidr('::ffff:127.0.0.1')).toBe('127.0.0.1/32');
    expect(normalizeCidr('::ffff:10.0.0.0/104')).toBe('10.0.0.0/8');
    expect(normalizeCidr('2001:DB8:0:0::1/32')).toBe('2001:db8::/32');
    expect(normalizeCidr('::1')).toBe('::1/128');
    expect(normalizeCidr('0.0.0.0/0')).toBe('0.0.0.0/0');
  });

  it('refuses malformed entries', () => {
    for (const bad of [
      '',
      'not-an-ip',
      '10.0.0.0/33',
      '10.0.0.0/',
      '10.0.0.0/-1',
      '10.0.0.0/8/8',
      '10.0.0.0/ 8',
      '300.1.1.1/8',
      '10.0.0/8',
      '10.1',
      '0x0a.0.0.1',
      '::1/129',
      'fe80::1%eth0',
      '::ffff:10.0.0.0/64',
      '2001:db8:::1',
      '10.0.0.0/08x',
    ]) {
      expect({ bad, normalized: normalizeCidr(bad) }).toEqual({ bad, normalized: null });
    }
  });

  it('matches client addresses against the ranges, normalising IPv4-mapped addresses', () => {
    const ranges = parseAllowlist(['10.0.0.0/8', '2001:db8::/32', '127.0.0.1/32']);
    expect(ipAllowed('10.200.3.4', ranges)).toBe(true);
    expect(ipAllowed('::ffff:10.1.2.3', ranges)).toBe(true);
    expect(ipAllowed('127.0.0.1', ranges)).toBe(true);
    expect(ipAllowed('2001:db8:1::5', ranges)).toBe(true);
    expect(ipAllowed('11.0.0.1', ranges)).toBe(false);
    expect(ipAllowed('127.0.0.2', ranges)).toBe(false);
    expect(ipAllowed('2001:db9::1', ranges)).toBe(false);
    expect(ipAllowed('unknown', ranges)).toBe(false);
    expect(ipAllowed('10.0.0.1', [])).toBe(false);
  });

  it('does not let an IPv6 range match an IPv4 client or the other way round', () => {
    expect(ipAllowed('10.0.0.1', parseAllowlist(['::/0']))).toBe(false);
    expect(ipAllowed('::1', parseAllowlist(['0.0.0.0/0']))).toBe(false);
    expect(ipAllowed('::ffff:127.0.0.1', parseAllowlist(['::ffff:127.0.0.1']))).toBe(true);
  });
});
