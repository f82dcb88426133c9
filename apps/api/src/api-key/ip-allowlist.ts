// Parsing and matching use ipaddr.js (the library express's own `trust proxy` is built on):
// well kept, handles IPv6 compression, zone ids and IPv4-mapped addresses correctly, which a
// hand-written parser would likely get wrong somewhere.
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** A CIDR ready for matching. */
export interface IpRange {
  kind: 'ipv4' | 'ipv6';
  network: Address;
  bits: number;
}

function parseAddress(text: string): Address | null {
  // Only dotted-quad IPv4: ipaddr.js (like inet_aton) also reads `10.1`, `0x0a.0.0.1` and
  // `012.0.0.1`, which nobody means in an allowlist.
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (!text.includes('%') && ipaddr.IPv6.isValid(text)) return ipaddr.IPv6.parse(text);
  return null;
}

/**
 * The canonical form of an allowlist entry, or null when it is not a valid IPv4/IPv6 address or
 * CIDR: a bare address becomes /32 or /128, host bits are cleared (`10.1.2.3/8` → `10.0.0.0/8`),
 * and an IPv4-mapped IPv6 entry becomes the IPv4 one (`::ffff:10.0.0.0/104` → `10.0.0.0/8`,
 * contract: "IP allowlists compare normalised addresses").
 */
export function normalizeCidr(input: string): string | null {
  if (typeof input !== 'string') return null;
  const text = input.trim();
  const slash = text.indexOf('/');
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const bitsText = slash === -1 ? undefined : text.slice(slash + 1);
  let address = parseAddress(addressText);
  if (!address) return null;
  const max = address.kind() === 'ipv4' ? 32 : 128;
  if (bitsText !== undefined && !/^\d{1,3}$/.test(bitsText)) return null;
  let bits = bitsText === undefined ? max : Number(bitsText);
  if (bits > max) return null;
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    // A mapped range wider than ::ffff:0:0/96 would reach outside IPv4 space: not a useful entry.
    if (bits < 96) return null;
    address = (address as ipaddr.IPv6).toIPv4Address();
    bits -= 96;
  }
  const network =
    address.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${bits}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${bits}`);
  return `${network.toString()}/${bits}`;
}

/** Parses entries already stored in canonical form (invalid ones, which cannot be stored, are skipped). */
export function parseAllowlist(cidrs: readonly string[]): IpRange[] {
  const ranges: IpRange[] = [];
  for (const cidr of cidrs) {
    const normalized = normalizeCidr(cidr);
    if (!normalized) continue;
    const [network, bits] = ipaddr.parseCIDR(normalized);
    ranges.push({ kind: network.kind(), network, bits });
  }
  return ranges;
}

/** True when the client address lies in one of the ranges; `::ffff:10.1.2.3` counts as `10.1.2.3`. */
export function ipAllowed(ip: string, ranges: readonly IpRange[]): boolean {
  let address: Address;
  try {
    // process() turns an IPv4-mapped IPv6 address into the IPv4 one.
    address = ipaddr.process(ip.trim());
  } catch {
    return false;
  }
  return ranges.some((r) => r.kind === address.kind() && address.match(r.network, r.bits));
}
