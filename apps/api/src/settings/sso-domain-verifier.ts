import { promises as dns } from 'node:dns';
import { ConfigError, type SsoDomainVerificationConfig } from '@app/common/config';
import { safeEqual } from '@app/common/crypto';

/** The TXT record a retailer publishes to prove it owns a just-in-time domain (docs/sso.md). */
export interface VerificationRecord {
  type: 'TXT';
  name: string;
  value: string;
}

export function verificationRecord(domain: string, token: string): VerificationRecord {
  return { type: 'TXT', name: `_retail-auth.${domain}`, value: `retail-auth-domain-verification=${token}` };
}

/** What DNS says about a record: there, absent (no such name or no TXT at it), or TXT records that all say something else. */
export type RecordLookup = 'found' | 'missing' | 'mismatch';

/** Names that do not exist, exist without TXT, or cannot exist (too long): the record is not published. */
const ABSENT = new Set<string>([dns.NOTFOUND, dns.NODATA, dns.BADNAME]);

/** The resolvers could not say (timeout, SERVFAIL, refused, unreachable): nothing is known about the record. */
export class DnsUnavailableError extends Error {
  constructor(readonly dnsCode: string) {
    super(`DNS lookup failed: ${dnsCode}`);
    this.name = 'DnsUnavailableError';
  }
}

/**
 * Looks up `_retail-auth.<domain>` TXT records with its own resolver: SSO_DNS_SERVERS when set
 * (else the system's), each lookup bounded by SSO_DNS_TIMEOUT. Built once by SsoSettingsService,
 * so a bad SSO_DNS_SERVERS stops the start.
 */
export class SsoDomainVerifier {
  private readonly servers: string[] | undefined;
  private readonly timeoutMs: number;

  constructor({ dnsServers, timeoutMs }: SsoDomainVerificationConfig) {
    this.timeoutMs = timeoutMs;
    if (dnsServers.length) {
      // Checked at start (setServers takes IP addresses only, with an optional port), not at the first verification.
      try {
        new dns.Resolver().setServers(dnsServers);
      } catch {
        throw new ConfigError('SSO_DNS_SERVERS', 'must list IP addresses, each optionally with a port (203.0.113.53, 127.0.0.1:5353, [2001:db8::53]:53)');
      }
      this.servers = dnsServers;
    }
  }

  /** Whether one of the TXT records at `record.name` is exactly `record.value`; DnsUnavailableError when DNS cannot say. */
  async lookup(record: VerificationRecord): Promise<RecordLookup> {
    // Two tries, so a lost UDP packet is sent again. c-ares's per-try timeout stretches (1.34 waits
    // up to twice it) and each server is tried in turn: the cap is what bounds the lookup. One
    // resolver per lookup, so cancelling it cancels this lookup only.
    const resolver = new dns.Resolver({ timeout: Math.max(1, Math.floor(this.timeoutMs / 4)), tries: 2 });
    if (this.servers) resolver.setServers(this.servers);
    const cap = setTimeout(() => resolver.cancel(), this.timeoutMs);
    try {
      const records = await resolver.resolveTxt(record.name);
      // A TXT record longer than 255 bytes arrives in chunks; the value is their concatenation.
      return records.some((chunks) => safeEqual(chunks.join(''), record.value)) ? 'found' : 'mismatch';
    } catch (err) {
      const code = String((err as NodeJS.ErrnoException).code ?? 'unknown');
      if (ABSENT.has(code)) return 'missing';
      // Cancelled means the cap above ran out.
      throw new DnsUnavailableError(code === dns.CANCELLED ? dns.TIMEOUT : code);
    } finally {
      clearTimeout(cap);
    }
  }
}
