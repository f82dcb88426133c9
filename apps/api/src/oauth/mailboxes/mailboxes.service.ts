import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { randomToken, sha256Hex } from '@app/common/crypto';
import { ApiError, ErrorCode } from '@app/common/errors';
import { reportRefusal, type HttpRequest, type HttpResponse, type RequestContext } from '@app/common/http';
import { APP_LOGGER, type AppLogger } from '@app/common/logging';
import { MetricsService } from '@app/common/metrics';
import { OneTimeToken, type OAuthConnection } from '@app/database';
import { AuditService } from '../../audit/audit.service';
import { OneTimeTokenService } from '../../one-time-tokens/one-time-token.service';
import type { RetailerPrincipal } from '../../retailer/retailer-principal';
import { OAuthConnectionRepository } from '../connections/oauth-connection.repository';
import { PLATFORM_NAME, StoreAccountsService } from '../connections/store-accounts.service';
import { nonEmptyString } from '../provider-http';
import { GoogleMailboxService } from './google-mailbox.service';
import { isMailboxProvider, type LinkedMailbox, type MailboxAccessToken, type MailboxProvider, type PkcePair } from './mailbox-provider';
import { MailboxStateCookie } from './mailbox-state-cookie';
import { MicrosoftMailboxService } from './microsoft-mailbox.service';

/** What both provider services offer the flow. */
interface MailboxClient {
  assertConfigured(): void;
  generatePkce(): Promise<PkcePair>;
  authorizeUrl(state: string, pkce: PkcePair): Promise<string>;
  redeem(code: string, verifier: string): Promise<LinkedMailbox>;
  requiredScopes(): string[];
  acquire(row: OAuthConnection, options?: { forceRefresh?: boolean }): Promise<MailboxAccessToken>;
}

/** A callback refused: the contract code for the dashboard and a short reason for the audit row. */
class LinkRefused extends Error {
  constructor(
    readonly error: ApiError,
    readonly reason: string,
  ) {
    super(error.message);
  }
}

/** Who a callback claims to link for (audit rows of refusals), and where the browser goes back. */
interface LinkAttempt {
  retailerId: string | null;
  userId: string | null;
  /** OAUTH_DASHBOARD_URL until the spent state names the page its connect asked for. */
  redirect: string;
}

const refuse = (code: ErrorCode, reason: string, message?: string) => new LinkRefused(new ApiError(code, message), reason);

/** The reason word of a provider call's failure. */
function providerReason(err: ApiError): string {
  if (err.code === ErrorCode.SERVICE_UNAVAILABLE) return /did not answer/.test(err.message) ? 'provider_timeout' : 'provider_unavailable';
  if (err.code === ErrorCode.TOKEN_INVALID) return 'provider_refused_code';
  return 'provider_error';
}

/**
 * Linking a retailer's Outlook or Gmail mailbox (so mail can later be sent as the merchant) and
 * handing out its access tokens. The dashboard asks `connect` for the provider's authorize URL;
 * the browser goes there and comes back to `callback`, which checks the browser binding and the
 * single-use state before the code is redeemed, stores the tokens sealed, and sends the browser
 * back to the allowlisted page connect was asked for (OAUTH_DASHBOARD_REDIRECTS; by default
 * OAUTH_DASHBOARD_URL; never a URL taken from the callback) with the outcome in the query. Every
 * refused callback is audit-logged (`oauth_connect_failed`). See docs/mailboxes.md.
 */
@Injectable()
export class MailboxesService {
  readonly stateCookie: MailboxStateCookie;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_LOGGER) private readonly logger: AppLogger,
    private readonly metrics: MetricsService,
    private readonly oneTime: OneTimeTokenService,
    private readonly connections: OAuthConnectionRepository,
    private readonly accounts: StoreAccountsService,
    private readonly audit: AuditService,
    private readonly microsoft: MicrosoftMailboxService,
    private readonly google: GoogleMailboxService,
  ) {
    this.stateCookie = new MailboxStateCookie(config.encryptionKey, config.http.cookieSecure);
  }

  private client(provider: MailboxProvider): MailboxClient {
    return provider === 'microsoft' ? this.microsoft : this.google;
  }

  /**
   * The provider's authorize URL for the signed-in retailer, with a new state (random, stored
   * hashed, single use, OAUTH_STATE_TTL, bound to the retailer and user) and a PKCE pair whose
   * verifier goes only into this browser's sealed cookie.
   */
  async connect(provider: MailboxProvider, principal: RetailerPrincipal, redirect: unknown, res: HttpResponse): Promise<{ authorizeUrl: string; expiresAt: string }> {
    const client = this.client(provider);
    client.assertConfigured();
    const back = this.returnTo(redirect);
    const ttlMs = this.config.oauth.stateTtlMs;
    const state = randomToken(32);
    const pkce = await client.generatePkce();
    // Built first: for Microsoft it reads the authority's metadata, and a provider that cannot be
    // reached leaves no state row behind.
    const authorizeUrl = await client.authorizeUrl(state, pkce);
    await this.oneTime.issue('oauth_state', { ttlMs, retailerId: principal.retailerId, userId: principal.userId, metadata: { provider, purpose: 'mailbox', redirect: back } }, undefined, state);
    this.stateCookie.set(res, provider, { state, verifier: pkce.verifier }, ttlMs);
    return { authorizeUrl, expiresAt: new Date(Date.now() + ttlMs).toISOString() };
  }

  /**
   * GET /oauth/{provider}/callback. Answers where to send the browser: the dashboard with
   * `mailbox=<provider>&status=connected&connectionId=…`, or with `status=error&code=<contract
   * code>&reason=<why>`. Only an unconfigured provider answers an error body (503).
   */
  async callback(provider: MailboxProvider, req: HttpRequest, res: HttpResponse, ctx: RequestContext): Promise<string> {
    const client = this.client(provider);
    client.assertConfigured();
    const attempt: LinkAttempt = { retailerId: null, userId: null, redirect: this.config.oauth.dashboardUrl };
    try {
      const connection = await this.link(provider, client, req, res, ctx, attempt);
      return this.dashboardUrl(attempt.redirect, provider, { status: 'connected', connectionId: connection.id });
    } catch (err) {
      const refusal = err instanceof LinkRefused ? err : err instanceof ApiError ? new LinkRefused(err, providerReason(err)) : null;
      if (!refusal) throw err;
      await this.recordRefusal(provider, refusal, attempt, req, ctx);
      return this.dashboardUrl(attempt.redirect, provider, { status: 'error', code: refusal.error.code, reason: refusal.reason });
    }
  }

  private async link(
    provider: MailboxProvider,
    client: MailboxClient,
    req: HttpRequest,
    res: HttpResponse,
    ctx: RequestContext,
    attempt: LinkAttempt,
  ): Promise<OAuthConnection> {
    const query = (req.query ?? {}) as Record<string, unknown>;
    const state = query.state;
    if (!nonEmptyString(state, 200)) throw refuse(ErrorCode.TOKEN_INVALID, 'state_missing', 'The callback carries no state; start linking again.');
    // Whose link this claims to be, for the audit row of a refusal (nothing is trusted from it).
    const claimed = await this.issuedState(state);
    attempt.retailerId = claimed?.retailerId ?? null;
    attempt.userId = claimed?.userId ?? null;

    // Checked before the state is spent: a callback carried to another browser does not burn the
    // state of the browser that did start it.
    const binding = this.stateCookie.read(req, provider, state);
    if (!binding.ok) {
      const messages = {
        not_started_in_this_browser: 'This browser did not start linking this mailbox; start again from the dashboard.',
        state_mismatch: 'The state does not match the one issued to this browser; start again from the dashboard.',
        pkce_verifier_missing: 'The PKCE verifier of this link is missing; start again from the dashboard.',
      };
      throw refuse(ErrorCode.TOKEN_INVALID, binding.reason, messages[binding.reason]);
    }
    let pending;
    try {
      pending = await this.oneTime.consume('oauth_state', state);
    } catch {
      throw refuse(ErrorCode.TOKEN_INVALID, 'state_used_or_expired', 'The state was already used or has expired; start again from the dashboard.');
    }
    this.stateCookie.clear(res, provider);
    if (pending.metadata?.provider !== provider || pending.metadata?.purpose !== 'mailbox' || !pending.retailerId) {
      throw refuse(ErrorCode.TOKEN_INVALID, 'state_not_for_this_provider', 'The state was issued for something else.');
    }
    const retailerId = pending.retailerId;
    attempt.retailerId = retailerId;
    attempt.userId = pending.userId;
    // The page the dashboard asked for at connect, while the allowlist still has it.
    const asked = pending.metadata?.redirect;
    if (typeof asked === 'string' && this.config.oauth.dashboardRedirects.includes(asked)) attempt.redirect = asked;

    if (nonEmptyString(query.error, 200)) {
      // The merchant declined at the provider (or it refused the request): nothing to redeem.
      throw refuse(ErrorCode.FORBIDDEN, query.error === 'access_denied' ? 'access_denied' : 'provider_error', `${PLATFORM_NAME[provider]} did not grant access to the mailbox.`);
    }
    if (!nonEmptyString(query.code, 4096)) throw refuse(ErrorCode.VALIDATION_FAILED, 'code_missing', 'The callback carries no authorization code.');
    try {
      await this.accounts.assertRetailerActive(retailerId);
    } catch (err) {
      if (err instanceof ApiError) throw new LinkRefused(err, 'retailer_inactive');
      throw err;
    }

    const linked = await client.redeem(query.code, binding.verifier);
    const granted = new Set(linked.scopes.map((s) => s.toLowerCase()));
    const missing = client.requiredScopes().filter((s) => !granted.has(s.toLowerCase()));
    if (missing.length) {
      throw refuse(ErrorCode.FORBIDDEN, 'scope_not_granted', `The permission to send mail was not granted (${missing.join(' ')}); link the mailbox again and allow it.`);
    }

    return this.dataSource.transaction(async (manager) => {
      const current = await this.connections.findByAccountForUpdate(manager, provider, linked.externalId);
      if (current && current.retailerId !== retailerId && current.status === 'active') {
        throw refuse(ErrorCode.CONFLICT, 'mailbox_linked_elsewhere', 'This mailbox is already linked to another account.');
      }
      const connection = await this.connections.saveConnected(manager, {
        retailerId,
        userId: pending.userId,
        provider,
        externalId: linked.externalId,
        scopes: linked.scopes,
        accessToken: linked.accessToken,
        refreshToken: linked.refreshToken,
        tokenCache: linked.tokenCache,
        tokenExpiresAt: linked.tokenExpiresAt,
        metadata: { ...linked.metadata, email: linked.email, origin: 'dashboard' },
      });
      await this.accounts.recordConnected(connection, { type: 'user', id: pending.userId }, ctx, manager);
      return connection;
    });
  }

  /** A state row as issued, used or not (a replay's audit row names the retailer it was issued to). */
  private issuedState(raw: string): Promise<OneTimeToken | null> {
    return this.dataSource.getRepository(OneTimeToken).findOneBy({ purpose: 'oauth_state', tokenHash: sha256Hex(raw) });
  }

  private async recordRefusal(provider: MailboxProvider, refusal: LinkRefused, attempt: { retailerId: string | null; userId: string | null }, req: HttpRequest, ctx: RequestContext): Promise<void> {
    const code = refusal.error.code;
    // Answered with a redirect, this refusal never reaches the global filter: reported here as it would be.
    reportRefusal(refusal.error, req, this.logger, this.metrics, { detail: refusal.reason });
    await this.audit.record(
      {
        event: 'oauth_connect_failed',
        actorType: attempt.userId ? 'user' : 'anonymous',
        actorId: attempt.userId,
        retailerId: attempt.retailerId,
        status: 'failure',
        reason: refusal.reason,
        metadata: { provider, code },
      },
      ctx,
    );
  }

  /**
   * Where the link returns: connect's `?redirect=`, exactly one of OAUTH_DASHBOARD_REDIRECTS, or
   * OAUTH_DASHBOARD_URL without one. Anything else is refused before the provider is asked.
   */
  private returnTo(redirect: unknown): string {
    if (redirect === undefined) return this.config.oauth.dashboardUrl;
    if (typeof redirect === 'string' && this.config.oauth.dashboardRedirects.includes(redirect)) return redirect;
    throw ApiError.validation([{ field: 'redirect', message: 'redirect must be exactly one of the URLs in OAUTH_DASHBOARD_REDIRECTS' }], 'The redirect is not one this server may return to.');
  }

  /** An allowlisted dashboard page with the outcome: the only places a callback sends a browser. */
  private dashboardUrl(page: string, provider: MailboxProvider, outcome: Record<string, string>): string {
    const target = new URL(page);
    target.searchParams.set('mailbox', provider);
    for (const [name, value] of Object.entries(outcome)) target.searchParams.set(name, value);
    return target.toString();
  }

  /**
   * A valid access token of a linked mailbox, for sending mail as the merchant: MSAL's silent
   * acquisition through the connection's sealed cache, or Google's refresh-token grant; refreshed
   * tokens are stored sealed before this answers. NOT_FOUND for anything but an active mailbox
   * connection (of `retailerId`, when given); TOKEN_REVOKED when the provider no longer accepts
   * the grant, and the connection is then marked revoked (the merchant must link it again).
   */
  async acquireAccessToken(connectionId: string, options: { retailerId?: string; forceRefresh?: boolean } = {}): Promise<MailboxAccessToken> {
    const row = await this.connections.findWithSecrets(connectionId);
    if (!row || !isMailboxProvider(row.provider) || (options.retailerId && row.retailerId !== options.retailerId)) {
      throw new ApiError(ErrorCode.NOT_FOUND, 'No such mailbox connection.');
    }
    if (row.status !== 'active') throw new ApiError(ErrorCode.TOKEN_REVOKED, 'The mailbox was unlinked or revoked; link it again.');
    try {
      return await this.client(row.provider).acquire(row, { forceRefresh: options.forceRefresh });
    } catch (err) {
      if (err instanceof ApiError && err.code === ErrorCode.TOKEN_REVOKED) await this.markRevoked(row);
      throw err;
    }
  }

  private async markRevoked(row: OAuthConnection): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const revoked = await this.connections.revokeByAccount(manager, row.provider, row.externalId);
      if (!revoked) return;
      await this.audit.record(
        { event: 'oauth_revoked', actorType: 'service', actorId: row.provider, retailerId: row.retailerId, status: 'success', reason: 'grant_refused', metadata: { connectionId: row.id, provider: row.provider, account: row.externalId } },
        {},
        manager,
      );
    });
  }
}
