import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { ApiError, ErrorCode } from '@app/common/errors';
import type { RequestContext } from '@app/common/http';
import { OAuthConnection } from '@app/database';
import { AuditService } from '../../audit/audit.service';
import { OAuthConnectionRepository } from '../connections/oauth-connection.repository';
import { StoreAccountsService } from '../connections/store-accounts.service';
import { isRecord, nonEmptyString, postJson, providerError } from '../provider-http';

export const BIGCOMMERCE_CALLBACK_PATH = '/api/v1/oauth/bigcommerce/callback';
/** `stores/{store_hash}`: the store's id in `context` and in a signed payload's `sub`. */
const STORE_CONTEXT = /^stores\/[a-z0-9]{1,32}$/;

export interface BigCommerceQuery {
  code?: unknown;
  scope?: unknown;
  context?: unknown;
  signed_payload_jwt?: unknown;
}

interface SignedPayload {
  sub: string;
  user?: { id?: number; email?: string };
  owner?: { id?: number; email?: string };
}

/**
 * BigCommerce single-click apps: the auth callback (code exchange at the token endpoint), and
 * the `load` and `uninstall` callbacks, whose `signed_payload_jwt` is verified with the client
 * secret: HS256 only (whatever the header says), audience the client id, issuer `bc`, `exp`
 * required and not past, and the store in `sub` must be a connected one.
 */
@Injectable()
export class BigCommerceService {
  private readonly jwt = new JwtService();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly connections: OAuthConnectionRepository,
    private readonly accounts: StoreAccountsService,
    private readonly audit: AuditService,
  ) {}

  private credentials(): { clientId: string; clientSecret: string } {
    const { clientId, clientSecret } = this.config.oauth.bigcommerce;
    if (!clientId || !clientSecret) throw new ApiError(ErrorCode.SERVICE_UNAVAILABLE, 'BigCommerce is not configured on this server (BIGCOMMERCE_CLIENT_ID, BIGCOMMERCE_CLIENT_SECRET).');
    return { clientId, clientSecret };
  }

  private dashboard(params: Record<string, string>): string {
    const target = new URL(this.config.oauth.dashboardUrl);
    for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
    return target.toString();
  }

  /**
   * GET /oauth/bigcommerce/callback?code&scope&context. BigCommerce's install sends no state
   * (the control panel starts it), so this route links or creates the account but never signs
   * anyone in: a forged callback must not become a session in someone's browser.
   */
  async callback(query: BigCommerceQuery, ctx: RequestContext): Promise<string> {
    const { clientId, clientSecret } = this.credentials();
    const details = [];
    if (!nonEmptyString(query.code, 512)) details.push({ field: 'code', message: 'code is required' });
    if (!nonEmptyString(query.scope, 2000)) details.push({ field: 'scope', message: 'scope is required' });
    if (typeof query.context !== 'string' || !STORE_CONTEXT.test(query.context)) details.push({ field: 'context', message: 'context must be stores/{store_hash}' });
    if (details.length) throw ApiError.validation(details);
    const context = query.context as string;

    const existing = await this.connections.findByAccount('bigcommerce', context);
    if (existing) await this.accounts.assertRetailerActive(existing.retailerId);

    const call = { provider: 'BigCommerce', what: 'token exchange', timeoutMs: this.config.oauth.httpTimeoutMs };
    const { json } = await postJson(this.config.oauth.bigcommerce.tokenUrl, {
      client_id: clientId,
      client_secret: clientSecret,
      code: query.code,
      scope: query.scope,
      grant_type: 'authorization_code',
      redirect_uri: `${this.config.oauth.callbackBaseUrl}${BIGCOMMERCE_CALLBACK_PATH}`,
      context,
    }, call);
    if (!isRecord(json) || !nonEmptyString(json.access_token)) throw providerError('bad_answer', call);
    // A token for another store than the one the callback named is never stored.
    if (json.context !== context) throw new ApiError(ErrorCode.TOKEN_INVALID, 'BigCommerce answered with a token for another store.');
    const scopes = typeof json.scope === 'string' ? json.scope.split(/\s+/).filter(Boolean) : [];
    const user = isRecord(json.user) ? json.user : {};
    const owner = isRecord(json.owner) ? json.owner : user;
    const metadata = { userId: typeof user.id === 'number' ? user.id : undefined, accountUuid: typeof json.account_uuid === 'string' ? json.account_uuid : undefined };

    const connection = await this.dataSource.transaction(async (manager) => {
      const current = await this.connections.findByAccountForUpdate(manager, 'bigcommerce', context);
      let retailerId: string;
      let userId: string | null;
      if (current) {
        retailerId = current.retailerId;
        userId = current.userId;
      } else {
        const created = await this.accounts.createRetailerWithOwner(
          manager,
          { retailerName: context.slice('stores/'.length), ownerEmail: owner.email, ownerName: typeof owner.username === 'string' ? owner.username : undefined, provider: 'bigcommerce', externalId: context },
          ctx,
        );
        retailerId = created.retailer.id;
        userId = created.user.id;
      }
      const saved = await this.connections.saveConnected(
        manager,
        { retailerId, userId, provider: 'bigcommerce', externalId: context, scopes, accessToken: json.access_token as string, metadata: { ...metadata, origin: current?.metadata?.origin ?? 'install' } },
        { replace: Boolean(current) },
      );
      await this.accounts.recordConnected(saved, { type: 'user', id: userId }, ctx, manager);
      return saved;
    });
    return this.dashboard({ connected: 'bigcommerce', store: connection.externalId.slice('stores/'.length) });
  }

  /**
   * The verified claims of a `signed_payload_jwt`. The algorithm is pinned to HS256, so `none`,
   * HS512 or RS256 headers are refused whatever they claim; a token without `exp` is refused
   * too. Expired → TOKEN_EXPIRED; anything else wrong → TOKEN_INVALID.
   */
  verifySignedPayload(token: unknown): SignedPayload {
    const { clientId, clientSecret } = this.credentials();
    if (token === undefined || token === '') throw new ApiError(ErrorCode.TOKEN_MISSING, 'signed_payload_jwt is required.');
    if (typeof token !== 'string' || token.length > 8192) throw new ApiError(ErrorCode.TOKEN_INVALID, 'signed_payload_jwt is malformed.');
    let claims: Record<string, unknown>;
    try {
      claims = this.jwt.verify<Record<string, unknown>>(token, { secret: clientSecret, algorithms: ['HS256'], audience: clientId, issuer: 'bc', clockTolerance: 5 });
    } catch (err) {
      if ((err as Error)?.name === 'TokenExpiredError') throw new ApiError(ErrorCode.TOKEN_EXPIRED, 'The signed payload has expired.');
      throw new ApiError(ErrorCode.TOKEN_INVALID, 'The signed payload is not valid for this app.');
    }
    if (typeof claims.exp !== 'number') throw new ApiError(ErrorCode.TOKEN_INVALID, 'The signed payload has no expiry.');
    if (typeof claims.sub !== 'string' || !STORE_CONTEXT.test(claims.sub)) throw new ApiError(ErrorCode.TOKEN_INVALID, 'The signed payload names no store.');
    return claims as unknown as SignedPayload;
  }

  /** The store of the payload must be connected (and active, for load); 404 otherwise, nothing changed. */
  private async connectionOf(payload: SignedPayload): Promise<OAuthConnection> {
    const connection = await this.connections.findByAccount('bigcommerce', payload.sub);
    if (!connection) throw new ApiError(ErrorCode.NOT_FOUND, 'This BigCommerce store is not connected.');
    return connection;
  }

  /** GET /oauth/bigcommerce/load: the merchant opens the app in the control panel. */
  async load(query: BigCommerceQuery): Promise<string> {
    const payload = this.verifySignedPayload(query.signed_payload_jwt);
    const connection = await this.connectionOf(payload);
    if (connection.status !== 'active') throw new ApiError(ErrorCode.NOT_FOUND, 'This BigCommerce store is not connected.');
    await this.accounts.assertRetailerActive(connection.retailerId);
    return this.dashboard({ platform: 'bigcommerce', store: payload.sub.slice('stores/'.length) });
  }

  /** GET /oauth/bigcommerce/uninstall: the app was removed from the store; the token is forgotten. */
  async uninstall(query: BigCommerceQuery, ctx: RequestContext): Promise<{ uninstalled: true }> {
    const payload = this.verifySignedPayload(query.signed_payload_jwt);
    await this.connectionOf(payload);
    await this.dataSource.transaction(async (manager) => {
      const revoked = await this.connections.revokeByAccount(manager, 'bigcommerce', payload.sub);
      if (revoked) {
        await this.audit.record(
          { event: 'oauth_revoked', actorType: 'service', actorId: 'bigcommerce', retailerId: revoked.retailerId, status: 'success', reason: 'app_uninstalled', metadata: { connectionId: revoked.id, provider: 'bigcommerce', account: payload.sub, storeUserEmail: payload.user?.email } },
          ctx,
          manager,
        );
      }
    });
    return { uninstalled: true };
  }
}
