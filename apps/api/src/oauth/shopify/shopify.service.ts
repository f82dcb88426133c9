import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { randomToken } from '@app/common/crypto';
import { ApiError, ErrorCode } from '@app/common/errors';
import type { RequestContext } from '@app/common/http';
import { OAuthConnection, OAuthWebhookEvent } from '@app/database';
import { AuditService } from '../../audit/audit.service';
import { OneTimeTokenService } from '../../one-time-tokens/one-time-token.service';
import { RetailerAuthService } from '../../retailer/retailer-auth.service';
import type { RetailerPrincipal } from '../../retailer/retailer-principal';
import { SessionCookies } from '../../retailer/session-cookies';
import { OAuthConnectionRepository } from '../connections/oauth-connection.repository';
import { StoreAccountsService } from '../connections/store-accounts.service';
import { callProvider, isRecord, nonEmptyString, postJson, providerError } from '../provider-http';
import { isShopHostname, queryPairs, verifyQueryHmac } from './shopify-signatures';
import { ShopifyStateCookie } from './shopify-state-cookie';
import type { HttpRequest, HttpResponse } from '@app/common/http';

/** The contract's scopes, asked for on every install. */
export const SHOPIFY_SCOPES = ['read_products', 'read_orders', 'read_customers', 'read_reports'] as const;
export const SHOPIFY_CALLBACK_PATH = '/api/v1/oauth/shopify/callback';

interface ShopifyCredentials {
  apiKey: string;
  apiSecret: string;
}

export interface ShopifyAuthorize {
  authorizeUrl: string;
  expiresAt: string;
}

/** The raw query string of a request (after `?`), as the provider signed it. */
export function rawQueryOf(req: HttpRequest): string {
  const url = req.originalUrl ?? req.url ?? '';
  const at = url.indexOf('?');
  return at === -1 ? '' : url.slice(at + 1);
}

/**
 * Shopify as an app install (authorization-code grant): the authorize redirect with a
 * single-use state bound to the browser, the signed callback, the code exchange, the
 * connection (token sealed), the retailer it belongs to, and the merchant's session; and the
 * signed webhooks (`app/uninstalled`, the privacy topics).
 */
@Injectable()
export class ShopifyService {
  readonly stateCookie: ShopifyStateCookie;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly oneTime: OneTimeTokenService,
    private readonly connections: OAuthConnectionRepository,
    private readonly accounts: StoreAccountsService,
    private readonly retailerAuth: RetailerAuthService,
    private readonly sessionCookies: SessionCookies,
    private readonly audit: AuditService,
  ) {
    this.stateCookie = new ShopifyStateCookie(config.encryptionKey, config.http.cookieSecure);
  }

  /** 503 until SHOPIFY_API_KEY and SHOPIFY_API_SECRET are set. */
  credentials(): ShopifyCredentials {
    const { apiKey, apiSecret } = this.config.oauth.shopify;
    if (!apiKey || !apiSecret) throw new ApiError(ErrorCode.SERVICE_UNAVAILABLE, 'Shopify is not configured on this server (SHOPIFY_API_KEY, SHOPIFY_API_SECRET).');
    return { apiKey, apiSecret };
  }

  private adminBase(shop: string): string {
    return this.config.oauth.shopify.adminBaseUrlTemplate.replace('{shop}', shop);
  }

  private call(what: string) {
    return { provider: 'Shopify', what, timeoutMs: this.config.oauth.httpTimeoutMs };
  }

  /**
   * The authorize URL for `?shop=`, with a new state (hashed, single use, OAUTH_STATE_TTL) and
   * its browser cookie. `binding` ties the state to a signed-in retailer user (the dashboard's
   * connect route); without it the install belongs to whoever the shop is.
   */
  async begin(req: HttpRequest, res: HttpResponse, binding?: RetailerPrincipal): Promise<ShopifyAuthorize> {
    const { apiKey, apiSecret } = this.credentials();
    const pairs = queryPairs(rawQueryOf(req));
    if (!pairs) throw ApiError.validation([{ field: 'query', message: 'a query parameter is repeated' }]);
    const query = Object.fromEntries(pairs);
    if (!isShopHostname(query.shop)) {
      throw ApiError.validation([{ field: 'shop', message: 'shop must be a bare Shopify hostname like my-store.myshopify.com' }]);
    }
    const shop = query.shop;
    // Opened from the Shopify admin, the install URL itself is signed: check it when it is.
    if (!binding && query.hmac !== undefined) this.verifySigned(apiSecret, pairs, query);
    if (binding) {
      const existing = await this.connections.findByAccount('shopify', shop);
      if (existing && existing.retailerId !== binding.retailerId && existing.status === 'active') {
        throw new ApiError(ErrorCode.CONFLICT, 'This shop is already connected to another account.');
      }
    }
    const ttlMs = this.config.oauth.stateTtlMs;
    const state = randomToken(32);
    await this.oneTime.issue('oauth_state', {
      ttlMs,
      retailerId: binding?.retailerId ?? null,
      userId: binding?.userId ?? null,
      metadata: { provider: 'shopify', shop },
    }, undefined, state);
    this.stateCookie.set(res, state, ttlMs);
    const params = new URLSearchParams({
      client_id: apiKey,
      scope: SHOPIFY_SCOPES.join(','),
      redirect_uri: `${this.config.oauth.callbackBaseUrl}${SHOPIFY_CALLBACK_PATH}`,
      state,
    });
    return { authorizeUrl: `${this.adminBase(shop)}/oauth/authorize?${params.toString()}`, expiresAt: new Date(Date.now() + ttlMs).toISOString() };
  }

  /** hmac over the sorted query, then the timestamp's freshness. */
  private verifySigned(apiSecret: string, pairs: Array<[string, string]>, query: Record<string, string>): void {
    if (!query.hmac) throw new ApiError(ErrorCode.TOKEN_INVALID, 'The Shopify request is not signed (no hmac).');
    if (!verifyQueryHmac(apiSecret, pairs)) throw new ApiError(ErrorCode.TOKEN_INVALID, 'The Shopify signature (hmac) does not match the query.');
    const timestamp = query.timestamp;
    if (!timestamp || !/^\d{1,12}$/.test(timestamp)) throw new ApiError(ErrorCode.TOKEN_INVALID, 'The Shopify request has no valid timestamp.');
    const ageMs = Date.now() - Number(timestamp) * 1000;
    const tolerance = this.config.oauth.shopify.hmacToleranceMs;
    if (ageMs > tolerance) throw new ApiError(ErrorCode.TOKEN_EXPIRED, 'The Shopify request is too old; start the install again.');
    if (ageMs < -tolerance) throw new ApiError(ErrorCode.TOKEN_INVALID, 'The Shopify request is dated in the future.');
  }

  /**
   * GET /oauth/shopify/callback. Everything that can be checked locally is checked before the
   * state is spent, and the state is spent before the code is exchanged; nothing is stored
   * unless the exchange (and, for a new shop, the shop's details) succeeded. Answers the URL
   * to send the browser to.
   */
  async callback(req: HttpRequest, res: HttpResponse, ctx: RequestContext): Promise<string> {
    const { apiKey, apiSecret } = this.credentials();
    const pairs = queryPairs(rawQueryOf(req));
    if (!pairs) throw new ApiError(ErrorCode.TOKEN_INVALID, 'The Shopify callback repeats a query parameter.');
    const query = Object.fromEntries(pairs);
    this.verifySigned(apiSecret, pairs, query);
    if (!isShopHostname(query.shop)) throw ApiError.validation([{ field: 'shop', message: 'shop must be a bare Shopify hostname like my-store.myshopify.com' }]);
    const shop = query.shop;
    if (!nonEmptyString(query.code, 512)) throw ApiError.validation([{ field: 'code', message: 'code is required' }]);
    if (!nonEmptyString(query.state, 200) || !this.stateCookie.matches(req, query.state)) {
      throw new ApiError(ErrorCode.TOKEN_INVALID, 'The state does not match the one issued to this browser; start the install again.');
    }
    const pending = await this.oneTime.peek('oauth_state', query.state);
    if (!pending || pending.metadata?.provider !== 'shopify' || pending.metadata?.shop !== shop) {
      throw new ApiError(ErrorCode.TOKEN_INVALID, 'The state is unknown, used, or was issued for another shop.');
    }
    // Spent here, atomically: a second callback with it (or an expired one) is TOKEN_INVALID.
    const state = await this.oneTime.consume('oauth_state', query.state);
    this.stateCookie.clear(res);

    const boundRetailerId = state.retailerId;
    const existing = await this.connections.findByAccount('shopify', shop);
    if (boundRetailerId) {
      if (existing && existing.retailerId !== boundRetailerId && existing.status === 'active') {
        throw new ApiError(ErrorCode.CONFLICT, 'This shop is already connected to another account.');
      }
      await this.accounts.assertRetailerActive(boundRetailerId);
    } else if (existing) {
      await this.accounts.assertRetailerActive(existing.retailerId);
    }

    const token = await this.exchange(apiKey, apiSecret, shop, query.code);
    const connection = boundRetailerId || existing
      ? await this.link(shop, token, boundRetailerId ? { retailerId: boundRetailerId, userId: state.userId } : { retailerId: existing!.retailerId, userId: existing!.userId }, ctx)
      : await this.createAccount(shop, token, ctx);

    const target = new URL(this.config.oauth.dashboardUrl);
    target.searchParams.set('connected', 'shopify');
    target.searchParams.set('shop', shop);
    if (!boundRetailerId) {
      const user = await this.accounts.signInUserFor(connection);
      if (user) this.sessionCookies.set(res, (await this.retailerAuth.completeSignIn(user, 'oauth', ctx)).issued);
      else target.searchParams.set('signIn', 'required');
    }
    return target.toString();
  }

  /** POST {admin}/oauth/access_token {client_id, client_secret, code} → {access_token, scope}. */
  private async exchange(apiKey: string, apiSecret: string, shop: string, code: string): Promise<{ accessToken: string; scopes: string[] }> {
    const call = this.call('token exchange');
    const { json } = await postJson(`${this.adminBase(shop)}/oauth/access_token`, { client_id: apiKey, client_secret: apiSecret, code }, call);
    if (!isRecord(json) || !nonEmptyString(json.access_token)) throw providerError('bad_answer', call);
    const scopes = typeof json.scope === 'string' ? json.scope.split(',').map((s) => s.trim()).filter(Boolean) : [];
    return { accessToken: json.access_token, scopes };
  }

  /** The shop's name and owner, read with the new token (GET {admin}/api/{version}/shop.json). */
  private async shopDetails(shop: string, accessToken: string): Promise<{ name: string; email: unknown; owner?: string }> {
    const call = this.call('shop details request');
    const { json } = await callProvider(
      `${this.adminBase(shop)}/api/${this.config.oauth.shopify.apiVersion}/shop.json`,
      { method: 'GET', headers: { accept: 'application/json', 'x-shopify-access-token': accessToken } },
      call,
    );
    const details = isRecord(json) && isRecord(json.shop) ? json.shop : null;
    if (!details) throw providerError('bad_answer', call);
    return { name: typeof details.name === 'string' ? details.name : shop, email: details.email, owner: typeof details.shop_owner === 'string' ? details.shop_owner : undefined };
  }

  /** A shop of an existing account (a reinstall, or a connect from the dashboard). */
  private async link(shop: string, token: { accessToken: string; scopes: string[] }, owner: { retailerId: string; userId: string | null }, ctx: RequestContext): Promise<OAuthConnection> {
    return this.dataSource.transaction(async (manager) => {
      const current = await this.connections.findByAccountForUpdate(manager, 'shopify', shop);
      if (current && current.retailerId !== owner.retailerId && current.status === 'active') {
        throw new ApiError(ErrorCode.CONFLICT, 'This shop is already connected to another account.');
      }
      // A shop that created its account stays that account's identity across reinstalls.
      const origin = current && current.retailerId === owner.retailerId ? (current.metadata?.origin ?? 'dashboard') : 'dashboard';
      const connection = await this.connections.saveConnected(manager, {
        retailerId: owner.retailerId,
        userId: owner.userId,
        provider: 'shopify',
        externalId: shop,
        scopes: token.scopes,
        accessToken: token.accessToken,
        metadata: { origin },
      });
      await this.accounts.recordConnected(connection, { type: 'user', id: owner.userId }, ctx, manager);
      return connection;
    });
  }

  /** A shop seen for the first time: its retailer and owner, then the connection. */
  private async createAccount(shop: string, token: { accessToken: string; scopes: string[] }, ctx: RequestContext): Promise<OAuthConnection> {
    const details = await this.shopDetails(shop, token.accessToken);
    return this.dataSource.transaction(async (manager) => {
      const { user, retailer } = await this.accounts.createRetailerWithOwner(
        manager,
        { retailerName: details.name, ownerEmail: details.email, ownerName: details.owner, provider: 'shopify', externalId: shop },
        ctx,
      );
      const connection = await this.connections
        .saveConnected(manager, { retailerId: retailer.id, userId: user.id, provider: 'shopify', externalId: shop, scopes: token.scopes, accessToken: token.accessToken, metadata: { origin: 'install' } }, { replace: false })
        .catch((err: unknown) => {
          const code = (err as { code?: string; driverError?: { code?: string } })?.driverError?.code ?? (err as { code?: string })?.code;
          if (code === '23505') throw new ApiError(ErrorCode.CONFLICT, 'This shop was connected by another install at the same moment; try again.');
          throw err;
        });
      await this.accounts.recordConnected(connection, { type: 'user', id: user.id }, ctx, manager);
      return connection;
    });
  }

  /**
   * Revokes the app's access at Shopify (DELETE {admin}/api_permissions/current.json, which
   * uninstalls it). Best effort for unlinking: false when Shopify could not be told.
   */
  async revokeAtShopify(shop: string, accessToken: string): Promise<boolean> {
    try {
      await callProvider(`${this.adminBase(shop)}/api_permissions/current.json`, { method: 'DELETE', headers: { accept: 'application/json', 'x-shopify-access-token': accessToken } }, this.call('revocation'));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * A webhook whose signature ShopifyWebhookGuard has checked. Each delivery id is handled once
   * (its row and its effect commit together); `app/uninstalled` revokes the connection and
   * forgets its token; `shop/redact` (48 h after an uninstall) deletes the connection.
   */
  async handleWebhook(req: HttpRequest, ctx: RequestContext): Promise<{ received: true; duplicate: boolean }> {
    const header = (name: string): string | undefined => {
      const value = req.headers[name];
      return typeof value === 'string' ? value.trim() : undefined;
    };
    const topic = header('x-shopify-topic');
    const shop = header('x-shopify-shop-domain');
    const webhookId = header('x-shopify-webhook-id');
    const details = [];
    if (!topic || topic.length > 100) details.push({ field: 'X-Shopify-Topic', message: 'the topic header is required' });
    if (!webhookId || webhookId.length > 200) details.push({ field: 'X-Shopify-Webhook-Id', message: 'the webhook id header is required' });
    if (!isShopHostname(shop)) details.push({ field: 'X-Shopify-Shop-Domain', message: 'must be a bare Shopify hostname' });
    if (details.length) throw ApiError.validation(details);

    return this.dataSource.transaction(async (manager) => {
      const inserted = await manager
        .createQueryBuilder()
        .insert()
        .into(OAuthWebhookEvent)
        .values({ provider: 'shopify', eventId: webhookId!, topic: topic!, externalId: shop! })
        .orIgnore()
        .returning(['event_id'])
        .execute();
      if (!(inserted.raw as unknown[]).length) return { received: true as const, duplicate: true };

      if (topic === 'app/uninstalled') {
        const revoked = await this.connections.revokeByAccount(manager, 'shopify', shop!);
        if (revoked) {
          await this.audit.record(
            { event: 'oauth_revoked', actorType: 'service', actorId: 'shopify', retailerId: revoked.retailerId, status: 'success', reason: 'app_uninstalled', metadata: { connectionId: revoked.id, provider: 'shopify', account: shop, webhookId } },
            ctx,
            manager,
          );
        }
      } else if (topic === 'shop/redact') {
        const deleted = await this.connections.deleteByAccount(manager, 'shopify', shop!);
        if (deleted) {
          await this.audit.record(
            { event: 'oauth_disconnected', actorType: 'service', actorId: 'shopify', retailerId: deleted.retailerId, status: 'success', reason: 'shop_redact', metadata: { connectionId: deleted.id, provider: 'shopify', account: shop, webhookId } },
            ctx,
            manager,
          );
        }
      }
      return { received: true as const, duplicate: false };
    });
  }
}
