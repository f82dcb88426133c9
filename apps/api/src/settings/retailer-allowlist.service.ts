import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ApiError, ErrorCode, ErrorDetail } from '@app/common/errors';
import type { RequestContext } from '@app/common/http';
import { Retailer } from '@app/database';
import { AuditService } from '../audit/audit.service';
import { ApiKeyService } from '../api-key/api-key.service';
import { ipAllowed, normalizeCidr, parseAllowlist } from '../api-key/ip-allowlist';
import type { RetailerPrincipal } from '../retailer/retailer-principal';
import { UpdateIpAllowlistDto } from './dto/update-ip-allowlist.dto';
import { RetailerAllowlistCache } from './retailer-allowlist-cache';

export interface IpAllowlistView {
  enabled: boolean;
  cidrs: string[];
}

/**
 * The retailer-wide IP allowlist (GET/PUT /settings/security/ip-allowlist). It applies to every
 * retailer token (RetailerIpAllowlistGuard) and every API key of the retailer (ApiKeyService, from
 * the retailer row it caches with the key); a change is applied on every instance at once.
 */
@Injectable()
export class RetailerAllowlistService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly apiKeys: ApiKeyService,
    private readonly cache: RetailerAllowlistCache,
  ) {}

  async get(principal: RetailerPrincipal): Promise<IpAllowlistView> {
    assertPermission(principal, 'settings:read');
    const retailer = await this.dataSource.getRepository(Retailer).findOne({ where: { id: principal.retailerId } });
    if (!retailer) throw new ApiError(ErrorCode.NOT_FOUND, 'No such retailer.');
    return { enabled: retailer.ipAllowlistEnabled, cidrs: [...retailer.ipAllowlist] };
  }

  /**
   * Stores the normalised list. Every malformed entry is named in one 400; a switched-on list that
   * would shut out the caller's own address is refused (400) rather than locking the user out.
   */
  async update(principal: RetailerPrincipal, dto: UpdateIpAllowlistDto, ctx: RequestContext): Promise<IpAllowlistView> {
    assertPermission(principal, 'settings:write');
    const cidrs = normalizeAll(dto.cidrs);
    if (dto.enabled && !ipAllowed(ctx.ip, parseAllowlist(cidrs))) {
      throw ApiError.validation(
        [{ field: 'cidrs', message: `the list does not include your own address (${ctx.ip}); saving it would lock you out` }],
        'The allowlist excludes the address of this request.',
      );
    }
    const saved = await this.dataSource.transaction(async (manager) => {
      const repo = manager.getRepository(Retailer);
      const current = await repo.findOne({ where: { id: principal.retailerId }, lock: { mode: 'pessimistic_write' } });
      if (!current) throw new ApiError(ErrorCode.NOT_FOUND, 'No such retailer.');
      await repo.update({ id: principal.retailerId }, { ipAllowlistEnabled: dto.enabled, ipAllowlist: cidrs });
      await this.audit.record(
        {
          event: 'ip_allowlist_updated',
          actorType: 'user',
          actorId: principal.userId,
          retailerId: principal.retailerId,
          status: 'success',
          metadata: {
            enabled: dto.enabled,
            cidrs,
            previous: { enabled: current.ipAllowlistEnabled, cidrs: current.ipAllowlist },
          },
        },
        ctx,
        manager,
      );
      return { enabled: dto.enabled, cidrs };
    });
    // After the commit: no instance keeps judging tokens or keys of the retailer by the old list.
    await Promise.all([this.cache.publish({ retailerIds: [principal.retailerId] }), this.apiKeys.invalidateRetailer(principal.retailerId)]);
    return saved;
  }
}

function assertPermission(principal: RetailerPrincipal, permission: 'settings:read' | 'settings:write'): void {
  if (!principal.permissions.includes(permission)) throw new ApiError(ErrorCode.FORBIDDEN, `This needs the ${permission} permission.`);
}

/** Canonical entries in their given order, without duplicates; every malformed one is named. */
function normalizeAll(entries: string[]): string[] {
  const details: ErrorDetail[] = [];
  const out: string[] = [];
  entries.forEach((entry, i) => {
    const normalized = normalizeCidr(entry);
    if (normalized) out.push(normalized);
    else details.push({ field: `cidrs[${i}]`, message: `"${entry.slice(0, 64)}" is not an IPv4/IPv6 address or CIDR` });
  });
  if (details.length) throw ApiError.validation(details);
  return [...new Set(out)];
}
