import { isIP } from 'node:net';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { randomToken } from '@app/common/crypto';
import { ApiError, ErrorCode } from '@app/common/errors';
import type { RequestContext } from '@app/common/http';
import { Retailer } from '@app/database';
import { OneTimeTokenService } from '../../one-time-tokens/one-time-token.service';
import type { RetailerPrincipal } from '../../retailer/retailer-principal';
import { OAuthConnectionRepository } from '../connections/oauth-connection.repository';
import { StoreAccountsService } from '../connections/store-accounts.service';
import { WooCallbackDto } from './dto/woocommerce.dto';

export const WOOCOMMERCE_CALLBACK_PATH = '/api/v1/oauth/woocommerce/callback';

/**
 * `https://host[:port][/path]` of a WordPress site, normalised (lower-case host, no trailing
 * slash, no credentials, query or fragment); null for anything else.
 */
export function normaliseStoreUrl(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' || url.username || url.password || url.search || url.hash || !url.hostname) return null;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // A store is a named site; a bare address, or a name without a dot, is not one.
  if (isIP(host) || !host.includes('.')) return null;
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * WooCommerce's key-generation flow: the merchant approves at the store's
 * `/wc-auth/v1/authorize`, and the store posts a consumer key and secret to our callback with
 * the `user_id` we chose. That `user_id` is a random single-use nonce bound to the retailer
 * (stored hashed, WOOCOMMERCE_CONNECT_TTL), so a posted key pair is accepted only for a connect
 * request that a signed-in user of that retailer started, and only once.
 */
@Injectable()
export class WooCommerceService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly oneTime: OneTimeTokenService,
    private readonly connections: OAuthConnectionRepository,
    private readonly accounts: StoreAccountsService,
  ) {}

  async connect(principal: RetailerPrincipal, rawStoreUrl: string): Promise<{ authorizeUrl: string; expiresAt: string }> {
    const storeUrl = normaliseStoreUrl(rawStoreUrl);
    if (!storeUrl) throw ApiError.validation([{ field: 'storeUrl', message: 'storeUrl must be the https address of the store, like https://shop.example.com' }]);
    const existing = await this.connections.findByAccount('woocommerce', storeUrl);
    if (existing && existing.retailerId !== principal.retailerId && existing.status === 'active') {
      throw new ApiError(ErrorCode.CONFLICT, 'This store is already connected to another account.');
    }
    const ttlMs = this.config.oauth.woocommerce.connectTtlMs;
    const nonce = randomToken(32);
    await this.oneTime.issue('woo_nonce', { ttlMs, retailerId: principal.retailerId, userId: principal.userId, metadata: { storeUrl } }, undefined, nonce);
    const params = new URLSearchParams({
      app_name: this.config.oauth.woocommerce.appName,
      scope: 'read',
      user_id: nonce,
      return_url: this.returnUrl(storeUrl),
      callback_url: `${this.config.oauth.callbackBaseUrl}${WOOCOMMERCE_CALLBACK_PATH}`,
    });
    return { authorizeUrl: `${storeUrl}/wc-auth/v1/authorize?${params.toString()}`, expiresAt: new Date(Date.now() + ttlMs).toISOString() };
  }

  private returnUrl(storeUrl: string): string {
    const target = new URL(this.config.oauth.dashboardUrl);
    target.searchParams.set('connected', 'woocommerce');
    target.searchParams.set('store', storeUrl);
    return target.toString();
  }

  /**
   * POST /oauth/woocommerce/callback. One transaction: the nonce is spent, the keys sealed and
   * stored, the audit row written; any refusal rolls all of it back (an unknown or used nonce
   * stores nothing).
   */
  async callback(dto: WooCallbackDto, ctx: RequestContext): Promise<{ connected: true }> {
    await this.dataSource.transaction(async (manager) => {
      const nonce = await this.oneTime.consume('woo_nonce', dto.user_id, { manager });
      const storeUrl = nonce.metadata?.storeUrl;
      if (typeof storeUrl !== 'string' || !nonce.retailerId) throw new ApiError(ErrorCode.TOKEN_INVALID);
      const retailer = await manager.getRepository(Retailer).findOneBy({ id: nonce.retailerId });
      if (!retailer) throw new ApiError(ErrorCode.TOKEN_INVALID);
      if (retailer.status !== 'active') throw new ApiError(ErrorCode.ACCOUNT_SUSPENDED);
      const current = await this.connections.findByAccountForUpdate(manager, 'woocommerce', storeUrl);
      if (current && current.retailerId !== nonce.retailerId && current.status === 'active') {
        throw new ApiError(ErrorCode.CONFLICT, 'This store is already connected to another account.');
      }
      const saved = await this.connections.saveConnected(manager, {
        retailerId: nonce.retailerId,
        userId: nonce.userId,
        provider: 'woocommerce',
        externalId: storeUrl,
        scopes: [dto.key_permissions],
        // Both halves sealed together: the pair is the credential.
        accessToken: JSON.stringify({ consumerKey: dto.consumer_key, consumerSecret: dto.consumer_secret }),
        metadata: { keyId: dto.key_id, origin: 'dashboard' },
      });
      await this.accounts.recordConnected(saved, { type: 'user', id: nonce.userId }, ctx, manager);
    });
    return { connected: true };
  }
}
