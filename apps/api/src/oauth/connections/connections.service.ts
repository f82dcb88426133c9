import { Injectable } from '@nestjs/common';
import { ApiError, ErrorCode } from '@app/common/errors';
import type { RequestContext } from '@app/common/http';
import { OAuthConnection } from '@app/database';
import { AuditService } from '../../audit/audit.service';
import type { RetailerPrincipal } from '../../retailer/retailer-principal';
import { GoogleMailboxService } from '../mailboxes/google-mailbox.service';
import { isMailboxProvider } from '../mailboxes/mailbox-provider';
import { ShopifyService } from '../shopify/shopify.service';
import { OAuthConnectionRepository } from './oauth-connection.repository';

export type PlatformRevocation = 'revoked' | 'failed' | 'not_offered' | 'not_needed';

/**
 * What a route shows of a connection: never a token. A store's `shop` is its account at the
 * platform; a mailbox has no shop (null) and adds `account`, its address.
 */
export function publicConnection(row: OAuthConnection) {
  const base = {
    id: row.id,
    platform: row.provider,
    shop: isMailboxProvider(row.provider) ? null : row.externalId,
    scopes: row.scopes,
    status: row.status,
    connectedAt: row.connectedAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
  if (!isMailboxProvider(row.provider)) return base;
  const email = row.metadata?.email;
  return { ...base, account: typeof email === 'string' ? email : null };
}

/** A retailer's connections: the list, and unlinking (revoked at the platform where it offers that). */
@Injectable()
export class ConnectionsService {
  constructor(
    private readonly connections: OAuthConnectionRepository,
    private readonly shopify: ShopifyService,
    private readonly google: GoogleMailboxService,
    private readonly audit: AuditService,
  ) {}

  async list(principal: RetailerPrincipal) {
    return (await this.connections.listForRetailer(principal.retailerId)).map(publicConnection);
  }

  /**
   * Removes the connection. Shopify and Google are told first (the app's access, the mailbox's
   * grant, is revoked there); BigCommerce and WooCommerce offer no revocation to apps (the
   * merchant removes the app or key in their admin), nor does Microsoft to a confidential client
   * (the user removes the app at myapps.microsoft.com): deleting the row deletes MSAL's cache and
   * with it the only copy of the refresh token. A platform that cannot be reached does not keep
   * the row: our copy of the token is deleted either way, and the answer and audit row say what
   * happened at the platform.
   */
  async remove(principal: RetailerPrincipal, id: string, ctx: RequestContext): Promise<{ removed: true; platformRevocation: PlatformRevocation }> {
    const row = await this.connections.findForRetailerWithToken(id, principal.retailerId);
    if (!row) throw new ApiError(ErrorCode.NOT_FOUND, 'No such connection.');
    let platformRevocation: PlatformRevocation = 'not_offered';
    if (row.status !== 'active' || (!row.accessToken && !isMailboxProvider(row.provider))) platformRevocation = 'not_needed';
    else if (row.provider === 'shopify') {
      const token = this.connections.openToken(row);
      platformRevocation = token && (await this.shopify.revokeAtShopify(row.externalId, token)) ? 'revoked' : 'failed';
    } else if (row.provider === 'google') {
      // The refresh token stands for the whole grant; revoking it revokes the access tokens too.
      const token = this.connections.open(row, 'refreshToken') ?? this.connections.openToken(row);
      platformRevocation = token && (await this.google.revoke(token)) ? 'revoked' : 'failed';
    }
    await this.connections.deleteById(row.id);
    await this.audit.record(
      {
        event: 'oauth_disconnected',
        actorType: 'user',
        actorId: principal.userId,
        retailerId: principal.retailerId,
        impersonatorId: principal.impersonation?.adminId ?? null,
        status: 'success',
        metadata: { connectionId: row.id, provider: row.provider, account: row.externalId, platformRevocation },
      },
      ctx,
    );
    return { removed: true, platformRevocation };
  }
}
