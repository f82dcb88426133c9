import { domainToASCII } from 'node:url';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, Not } from 'typeorm';
import { ApiError, ErrorCode, ErrorDetail } from '@app/common/errors';
import type { RequestContext } from '@app/common/http';
import { isUniqueViolation, Retailer, SsoDomain } from '@app/database';
import { AuditService } from '../audit/audit.service';
import type { RetailerPrincipal } from '../retailer/retailer-principal';
import { RoleResolver } from '../roles/role-resolver';
import { UpdateSsoSettingsDto } from './dto/update-sso-settings.dto';
import { isWebmailDomain } from './webmail-domains';

export interface SsoSettingsView {
  trustProviderMfa: boolean;
  jitDomains: Array<{ domain: string; role: string }>;
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
 * get an account on their first SSO sign-in, with the role they get. A domain belongs to one
 * retailer at most (first come, first served; domains are not DNS-verified, see docs/sso.md).
 */
@Injectable()
export class SsoSettingsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly roles: RoleResolver,
    private readonly audit: AuditService,
  ) {}

  async get(principal: RetailerPrincipal): Promise<SsoSettingsView> {
    const retailer = await this.dataSource.getRepository(Retailer).findOneBy({ id: principal.retailerId });
    if (!retailer) throw new ApiError(ErrorCode.NOT_FOUND, 'No such retailer.');
    const domains = await this.dataSource.getRepository(SsoDomain).find({ where: { retailerId: principal.retailerId }, order: { domain: 'ASC' } });
    return { trustProviderMfa: retailer.ssoTrustProviderMfa, jitDomains: domains.map((d) => ({ domain: d.domain, role: d.jitRole })) };
  }

  /**
   * Replaces both settings. Every bad entry is named in one 400 (malformed or webmail domain,
   * repeated domain, `owner` or unknown role); a domain another retailer holds is 409 CONFLICT.
   */
  async update(principal: RetailerPrincipal, dto: UpdateSsoSettingsDto, ctx: RequestContext): Promise<SsoSettingsView> {
    const entries = await this.validate(principal.retailerId, dto);
    const saved = await this.dataSource
      .transaction(async (manager) => {
        const retailers = manager.getRepository(Retailer);
        const domains = manager.getRepository(SsoDomain);
        const current = await retailers.findOne({ where: { id: principal.retailerId }, lock: { mode: 'pessimistic_write' } });
        if (!current) throw new ApiError(ErrorCode.NOT_FOUND, 'No such retailer.');
        const names = entries.map((e) => e.domain);
        const taken = names.length ? await domains.find({ where: { domain: In(names), retailerId: Not(principal.retailerId) } }) : [];
        if (taken.length) throw this.claimed(taken.map((t) => t.domain));
        const before = await domains.find({ where: { retailerId: principal.retailerId }, order: { domain: 'ASC' } });
        await domains.delete({ retailerId: principal.retailerId });
        if (entries.length) await domains.insert(entries.map((e) => ({ domain: e.domain, retailerId: principal.retailerId, jitRole: e.role })));
        await retailers.update({ id: principal.retailerId }, { ssoTrustProviderMfa: dto.trustProviderMfa });
        const view: SsoSettingsView = { trustProviderMfa: dto.trustProviderMfa, jitDomains: [...entries].sort((a, b) => a.domain.localeCompare(b.domain)) };
        await this.audit.record(
          {
            event: 'sso_settings_updated',
            actorType: 'user',
            actorId: principal.userId,
            retailerId: principal.retailerId,
            status: 'success',
            metadata: {
              ...view,
              previous: { trustProviderMfa: current.ssoTrustProviderMfa, jitDomains: before.map((d) => ({ domain: d.domain, role: d.jitRole })) },
            },
          },
          ctx,
          manager,
        );
        return view;
      })
      .catch((err: unknown) => {
        // Another retailer claimed one of the domains between our check and our insert.
        if (isUniqueViolation(err)) throw this.claimed([]);
        throw err;
      });
    return saved;
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
    const which = domains.length ? domains.join(', ') : 'A domain';
    return new ApiError(ErrorCode.CONFLICT, `${which} ${domains.length > 1 ? 'are' : 'is'} already claimed by another account. Contact support if it is yours.`);
  }
}
