import { domainToASCII } from 'node:url';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, IsNull, Not } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { randomToken } from '@app/common/crypto';
import { ApiError, ErrorCode, ErrorDetail } from '@app/common/errors';
import type { RequestContext } from '@app/common/http';
import { APP_LOGGER, AppLogger } from '@app/common/logging';
import { isUniqueViolation, Retailer, SsoDomain } from '@app/database';
import { AuditService } from '../audit/audit.service';
import { RateLimitService } from '../rate-limit/rate-limit.service';
import type { RetailerPrincipal } from '../retailer/retailer-principal';
import { RoleResolver } from '../roles/role-resolver';
import { UpdateSsoSettingsDto } from './dto/update-sso-settings.dto';
import { DnsUnavailableError, RecordLookup, SsoDomainVerifier, verificationRecord, VerificationRecord } from './sso-domain-verifier';
import { isWebmailDomain } from './webmail-domains';

export interface JitDomainView {
  domain: string;
  role: string;
  /** pending: listed, its TXT record not yet found; verified: JIT provisions its people. */
  status: 'pending' | 'verified';
  verifiedAt: string | null;
  /** The record that proves the claim: what to publish while pending, what was found once verified. */
  verification: VerificationRecord;
}

export interface SsoSettingsView {
  trustProviderMfa: boolean;
  jitDomains: JitDomainView[];
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** `Acme.Example.` → `acme.example`; IDNs in their ASCII (punycode) form; null when not a domain name. */
export function normalizeDomain(raw: string): string | null {
  const trimmed = raw.trim().toLowerCase().replace(/\.$/, '');
  if (!trimmed || trimmed.includes('@') || trimmed.includes('/') || trimmed.includes(':')) return null;
  const ascii = domainToASCII(trimmed);
  if (!ascii || ascii.length > 253) return null;
  const labels = ascii.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return null;
  const tld = labels[labels.length - 1];
  if (!/^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/.test(tld)) return null;
  return ascii;
}

/**
 * The retailer's SSO settings (GET/PUT /settings/security/sso): whether SSO sign-ins skip this
 * service's second factor (the provider's MFA is trusted), and the email domains whose people
 * get an account on their first SSO sign-in, with the role they get. A listed domain is a pending
 * claim until its TXT record is found (POST …/domains/:domain/verify); several retailers may
 * claim one domain, one at most proves it, and only a proven claim provisions (docs/sso.md).
 */
@Injectable()
export class SsoSettingsService {
  private readonly verifier: SsoDomainVerifier;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly roles: RoleResolver,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(APP_LOGGER) private readonly logger: AppLogger,
    private readonly limits: RateLimitService,
  ) {
    this.verifier = new SsoDomainVerifier(config.sso.domainVerification);
  }

  async get(principal: RetailerPrincipal): Promise<SsoSettingsView> {
    const retailer = await this.dataSource.getRepository(Retailer).findOneBy({ id: principal.retailerId });
    if (!retailer) throw new ApiError(ErrorCode.NOT_FOUND, 'No such retailer.');
    const domains = await this.dataSource.getRepository(SsoDomain).find({ where: { retailerId: principal.retailerId }, order: { domain: 'ASC' } });
    return { trustProviderMfa: retailer.ssoTrustProviderMfa, jitDomains: domains.map(domainView) };
  }

  /**
   * Replaces both settings. Every bad entry is named in one 400 (malformed or webmail domain,
   * repeated domain, `owner` or unknown role); a newly listed domain another retailer has
   * verified is 409 CONFLICT. A domain kept from the previous list keeps its state and token (a new role only);
   * a new one is pending with a fresh token, so removing and listing it again means proving it again.
   */
  async update(principal: RetailerPrincipal, dto: UpdateSsoSettingsDto, ctx: RequestContext): Promise<SsoSettingsView> {
    const entries = await this.validate(principal.retailerId, dto);
    return this.dataSource.transaction(async (manager) => {
      const retailers = manager.getRepository(Retailer);
      const domains = manager.getRepository(SsoDomain);
      // Serializes this retailer's updates: each reads the list it replaces.
      const current = await retailers.findOne({ where: { id: principal.retailerId }, lock: { mode: 'pessimistic_write' } });
      if (!current) throw new ApiError(ErrorCode.NOT_FOUND, 'No such retailer.');
      const names = entries.map((e) => e.domain);
      const before = await domains.find({ where: { retailerId: principal.retailerId }, order: { domain: 'ASC' } });
      const kept = new Map(before.map((d) => [d.domain, d]));
      // A domain newly listed must not be one another retailer has proven; pending claims of
      // others do not stand in the way. A claim already listed stays as it is even when another
      // retailer has since proven the domain: it can never be verified (verify answers 409), it
      // provisions nobody, and the retailer can still save its other settings.
      const fresh = names.filter((name) => !kept.has(name));
      const taken = fresh.length ? await domains.find({ where: { domain: In(fresh), retailerId: Not(principal.retailerId), verifiedAt: Not(IsNull()) } }) : [];
      if (taken.length) throw this.claimed(taken.map((t) => t.domain));
      const dropped = before.filter((d) => !names.includes(d.domain)).map((d) => d.domain);
      if (dropped.length) await domains.delete({ retailerId: principal.retailerId, domain: In(dropped) });
      const added = entries.filter((e) => !kept.has(e.domain));
      if (added.length) await domains.insert(added.map((e) => ({ domain: e.domain, retailerId: principal.retailerId, jitRole: e.role, verificationToken: randomToken(24) })));
      for (const e of entries) {
        const old = kept.get(e.domain);
        if (old && old.jitRole !== e.role) await domains.update({ retailerId: principal.retailerId, domain: e.domain }, { jitRole: e.role });
      }
      await retailers.update({ id: principal.retailerId }, { ssoTrustProviderMfa: dto.trustProviderMfa });
      const after = await domains.find({ where: { retailerId: principal.retailerId }, order: { domain: 'ASC' } });
      await this.audit.record(
        {
          event: 'sso_settings_updated',
          actorType: 'user',
          actorId: principal.userId,
          retailerId: principal.retailerId,
          status: 'success',
          metadata: {
            trustProviderMfa: dto.trustProviderMfa,
            jitDomains: after.map(auditedDomain),
            previous: { trustProviderMfa: current.ssoTrustProviderMfa, jitDomains: before.map(auditedDomain) },
          },
        },
        ctx,
        manager,
      );
      return { trustProviderMfa: dto.trustProviderMfa, jitDomains: after.map(domainView) };
    });
  }

  /**
   * POST /settings/security/sso/domains/:domain/verify: looks the claim's TXT record up and, when
   * DNS has it, marks the claim verified. Not one of the retailer's domains: 404; proven by another
   * retailer: 409; no record with the token: 400 (audited); DNS unable to answer: 503. Nothing is
   * stored unless the record was found.
   */
  async verify(principal: RetailerPrincipal, raw: string, ctx: RequestContext): Promise<SsoSettingsView> {
    const domain = normalizeDomain(raw);
    const domains = this.dataSource.getRepository(SsoDomain);
    const claim = domain ? await domains.findOneBy({ retailerId: principal.retailerId, domain }) : null;
    if (!domain || !claim) throw notListed(domain ?? raw);
    if (claim.verifiedAt) return this.get(principal);
    // Before asking DNS: the index would refuse the claim anyway.
    if (await domains.existsBy({ domain, retailerId: Not(principal.retailerId), verifiedAt: Not(IsNull()) })) throw this.claimed([domain]);
    // Each check from here is a DNS lookup on the caller's behalf.
    await this.limits.consume('ssoVerifyPerIp', ctx.ip);

    const record = verificationRecord(domain, claim.verificationToken);
    let lookup: RecordLookup;
    try {
      lookup = await this.verifier.lookup(record);
    } catch (err) {
      if (!(err instanceof DnsUnavailableError)) throw err;
      this.logger.warn({ retailerId: principal.retailerId, domain, dnsCode: err.dnsCode, requestId: ctx.requestId }, 'sso domain verification: DNS lookup failed');
      throw new ApiError(ErrorCode.SERVICE_UNAVAILABLE, `The DNS lookup of ${record.name} failed (${err.dnsCode}). Nothing was changed; try again in a minute.`);
    }
    if (lookup !== 'found') {
      await this.audit.record(
        {
          event: 'sso_domain_verification_failed',
          actorType: 'user',
          actorId: principal.userId,
          retailerId: principal.retailerId,
          status: 'failure',
          reason: ErrorCode.VALIDATION_FAILED,
          metadata: { domain, record: record.name, detail: lookup === 'missing' ? 'record_missing' : 'value_mismatch' },
        },
        ctx,
      );
      const found = lookup === 'missing' ? `There is no TXT record at ${record.name}` : `None of the TXT records at ${record.name} is the expected value`;
      throw ApiError.validation(
        [{ field: 'domain', message: `${found}. Publish a TXT record named ${record.name} with the value ${record.value}; DNS changes can take a while to appear, so try again later if you just published it.` }],
        `${domain} is not verified yet.`,
      );
    }

    await this.dataSource
      .transaction(async (manager) => {
        // Only the claim that was looked up: removed or listed anew (another token) meanwhile, it is not proven.
        const marked = await manager
          .getRepository(SsoDomain)
          .update({ retailerId: principal.retailerId, domain, verificationToken: claim.verificationToken, verifiedAt: IsNull() }, { verifiedAt: () => 'now()' });
        if (!marked.affected) {
          const now = await manager.getRepository(SsoDomain).findOneBy({ retailerId: principal.retailerId, domain });
          if (now?.verifiedAt) return;
          throw now ? new ApiError(ErrorCode.CONFLICT, `${domain} was listed again while it was checked; try again.`) : notListed(domain);
        }
        await this.audit.record(
          { event: 'sso_domain_verified', actorType: 'user', actorId: principal.userId, retailerId: principal.retailerId, status: 'success', metadata: { domain, record: record.name } },
          ctx,
          manager,
        );
      })
      .catch((err: unknown) => {
        // Another retailer proved the domain between our check and our update.
        if (isUniqueViolation(err)) throw this.claimed([domain]);
        throw err;
      });
    return this.get(principal);
  }

  private async validate(retailerId: string, dto: UpdateSsoSettingsDto): Promise<Array<{ domain: string; role: string }>> {
    const details: ErrorDetail[] = [];
    const seen = new Set<string>();
    const entries: Array<{ domain: string; role: string }> = [];
    for (const [i, entry] of dto.jitDomains.entries()) {
      const domain = normalizeDomain(entry.domain);
      const role = entry.role.trim();
      if (!domain) details.push({ field: `jitDomains[${i}].domain`, message: `"${entry.domain.slice(0, 64)}" is not a domain name like acme.example` });
      else if (isWebmailDomain(domain)) details.push({ field: `jitDomains[${i}].domain`, message: `${domain} is a public email provider; anyone can have an address there` });
      else if (seen.has(domain)) details.push({ field: `jitDomains[${i}].domain`, message: `${domain} is listed twice` });
      if (role === 'owner') details.push({ field: `jitDomains[${i}].role`, message: 'owner cannot be given on first sign-in; use admin, analyst, viewer or a custom role' });
      else if (!(await this.roles.exists(retailerId, role))) details.push({ field: `jitDomains[${i}].role`, message: `"${role.slice(0, 64)}" is not a predefined role or a custom role of this retailer` });
      if (domain) seen.add(domain);
      if (domain) entries.push({ domain, role });
    }
    if (details.length) throw ApiError.validation(details, 'The SSO settings are invalid.');
    return entries;
  }

  private claimed(domains: string[]): ApiError {
    return new ApiError(ErrorCode.CONFLICT, `${domains.join(', ')} ${domains.length > 1 ? 'are' : 'is'} already verified by another account. Contact support if it is yours.`);
  }
}

function domainView(d: SsoDomain): JitDomainView {
  return {
    domain: d.domain,
    role: d.jitRole,
    status: d.verifiedAt ? 'verified' : 'pending',
    verifiedAt: d.verifiedAt ? d.verifiedAt.toISOString() : null,
    verification: verificationRecord(d.domain, d.verificationToken),
  };
}

/** A domain as the audit row keeps it: its state, not its token. */
function auditedDomain(d: SsoDomain): { domain: string; role: string; status: JitDomainView['status'] } {
  return { domain: d.domain, role: d.jitRole, status: d.verifiedAt ? 'verified' : 'pending' };
}

function notListed(raw: string): ApiError {
  return new ApiError(ErrorCode.NOT_FOUND, `${raw.slice(0, 64)} is not one of this account's SSO domains.`);
}
