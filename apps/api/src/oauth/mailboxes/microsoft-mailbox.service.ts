import { Inject, Injectable } from '@nestjs/common';
import { ConfidentialClientApplication, CryptoProvider, InteractionRequiredAuthError, type AuthenticationResult } from '@azure/msal-node';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { ApiError, ErrorCode } from '@app/common/errors';
import type { OAuthConnection } from '@app/database';
import { OAuthConnectionRepository } from '../connections/oauth-connection.repository';
import { providerError } from '../provider-http';
import { ConnectionCachePlugin, MemoryCacheStore, type MsalCacheStore } from './msal-cache-plugin';
import { MsalNetworkClient } from './msal-network';
import type { LinkedMailbox, MailboxAccessToken, PkcePair } from './mailbox-provider';

export const MICROSOFT_CALLBACK_PATH = '/api/v1/oauth/microsoft/callback';

/** How long the authority's metadata document is reused before MSAL reads it again (as SSO's discovery). */
const AUTHORITY_METADATA_TTL_MS = 60 * 60_000;

/** Scopes MSAL adds to every request itself; what the mailbox needs beyond them is configured. */
const MSAL_RESERVED_SCOPES = new Set(['openid', 'profile', 'offline_access']);

/**
 * Outlook mailboxes through MSAL's ConfidentialClientApplication: the authorize URL (PKCE S256,
 * `offline_access` and the mail-send scope), the code redemption, and later silent acquisition.
 * MSAL keeps the refresh token inside its token cache and never hands it out, so each connection
 * stores MSAL's whole cache, serialised and sealed, through a cache plugin bound to that row
 * (see ConnectionCachePlugin). Each operation builds its own application object: the cache it
 * holds in memory is one connection's, never shared between requests.
 */
@Injectable()
export class MicrosoftMailboxService {
  /**
   * The authority's metadata document, read by the first operation and handed to the next ones'
   * applications (`authorityMetadata`), so an operation costs no discovery GET of its own.
   */
  private metadata: { document: string; until: number } | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly connections: OAuthConnectionRepository,
  ) {}

  /** 503 until MICROSOFT_CLIENT_ID and MICROSOFT_CLIENT_SECRET are set. */
  assertConfigured(): void {
    const { clientId, clientSecret } = this.config.oauth.microsoft;
    if (!clientId || !clientSecret) throw new ApiError(ErrorCode.SERVICE_UNAVAILABLE, 'Microsoft mailboxes are not configured on this server (MICROSOFT_CLIENT_ID, MICROSOFT_CLIENT_SECRET).');
  }

  private get redirectUri(): string {
    return `${this.config.oauth.callbackBaseUrl}${MICROSOFT_CALLBACK_PATH}`;
  }

  /** The configured scopes without those MSAL adds itself (it refuses to be given them twice). */
  private get scopes(): string[] {
    return this.config.oauth.microsoft.scopes.filter((s) => !MSAL_RESERVED_SCOPES.has(s.toLowerCase()));
  }

  private application(store: MsalCacheStore): { app: ConfidentialClientApplication; net: MsalNetworkClient; plugin: ConnectionCachePlugin } {
    this.assertConfigured();
    const { clientId, clientSecret, authority } = this.config.oauth.microsoft;
    const net = new MsalNetworkClient(this.config.oauth.httpTimeoutMs, (document) => {
      this.metadata = { document, until: Date.now() + AUTHORITY_METADATA_TTL_MS };
    });
    const plugin = new ConnectionCachePlugin(store);
    const app = new ConfidentialClientApplication({
      auth: {
        clientId: clientId!,
        clientSecret: clientSecret!,
        authority,
        // The configured authority is trusted as is: MSAL reads its metadata from
        // {authority}/v2.0/.well-known/openid-configuration instead of asking Microsoft's
        // instance discovery (which knows only Microsoft's clouds, not a local stand-in).
        knownAuthorities: [new URL(authority).host],
        ...(this.metadata && this.metadata.until > Date.now() ? { authorityMetadata: this.metadata.document } : {}),
      },
      system: { networkClient: net, disableInternalRetries: true },
      cache: { cachePlugin: plugin },
    });
    return { app, net, plugin };
  }

  /** What the mailbox must have been granted: the configured scopes (Mail.Send). */
  requiredScopes(): string[] {
    return this.scopes;
  }

  generatePkce(): Promise<PkcePair> {
    return new CryptoProvider().generatePkceCodes().then(({ verifier, challenge }) => ({ verifier, challenge }));
  }

  async authorizeUrl(state: string, pkce: PkcePair): Promise<string> {
    const { app, net } = this.application(new MemoryCacheStore());
    try {
      return await app.getAuthCodeUrl({
        scopes: this.scopes,
        redirectUri: this.redirectUri,
        codeChallenge: pkce.challenge,
        codeChallengeMethod: 'S256',
        state,
        // The merchant picks which mailbox to link, even when signed in to Microsoft already.
        prompt: 'select_account',
      });
    } catch (err) {
      throw this.failure(err, net, 'authorization request');
    }
  }

  /** Redeems the code (with the verifier) and answers the mailbox and its serialised MSAL cache. */
  async redeem(code: string, verifier: string): Promise<LinkedMailbox> {
    const store = new MemoryCacheStore();
    const { app, net, plugin } = this.application(store);
    let result: AuthenticationResult;
    try {
      result = await app.acquireTokenByCode({ code, scopes: this.scopes, redirectUri: this.redirectUri, codeVerifier: verifier });
    } catch (err) {
      throw this.failure(err, net, 'token exchange');
    }
    const account = result.account;
    if (!account?.homeAccountId || !plugin.lastSaved) throw providerError('bad_answer', this.call('token exchange'));
    return {
      externalId: account.homeAccountId,
      email: account.username || null,
      scopes: result.scopes,
      accessToken: null,
      refreshToken: null,
      tokenCache: plugin.lastSaved,
      tokenExpiresAt: result.expiresOn ?? null,
      metadata: { tenantId: account.tenantId, name: account.name ?? null },
    };
  }

  /**
   * A valid access token for a linked mailbox: MSAL answers from the connection's cache, or
   * redeems the cached refresh token when the access token is (about to be) expired, and the
   * cache plugin stores the changed cache sealed. `forceRefresh` skips the cached access token.
   */
  async acquire(row: OAuthConnection, options: { forceRefresh?: boolean } = {}): Promise<MailboxAccessToken> {
    // Later loads in this operation get what was last saved (no need to seal and open it again).
    let saved: string | undefined;
    const store: MsalCacheStore = {
      load: () => Promise.resolve(saved ?? this.connections.open(row, 'tokenCache')),
      save: async (serialized) => {
        saved = serialized;
        await this.connections.updateTokens(row, { tokenCache: serialized });
      },
    };
    const { app, net } = this.application(store);
    let result: AuthenticationResult;
    try {
      const account = await app.getTokenCache().getAccountByHomeId(row.externalId);
      if (!account) throw new ApiError(ErrorCode.TOKEN_REVOKED, 'The mailbox has no usable grant any more; link it again.');
      result = await app.acquireTokenSilent({ account, scopes: this.scopes, forceRefresh: options.forceRefresh ?? false });
    } catch (err) {
      throw this.failure(err, net, 'token refresh');
    }
    if (!result?.accessToken) throw providerError('bad_answer', this.call('token refresh'));
    await this.connections.updateTokens(row, { tokenExpiresAt: result.expiresOn ?? null });
    return { accessToken: result.accessToken, expiresAt: result.expiresOn ?? null };
  }

  private call(what: string) {
    return { provider: 'Microsoft', what, timeoutMs: this.config.oauth.httpTimeoutMs };
  }

  /** A clear ApiError for whatever MSAL threw: what the network client saw first, then MSAL's own kind. */
  private failure(err: unknown, net: MsalNetworkClient, what: string): ApiError {
    if (err instanceof ApiError) return err;
    const call = this.call(what);
    if (net.failure) return providerError(net.failure, call, net.lastErrorStatus ?? undefined);
    // invalid_grant on a refresh: the user or an administrator revoked the grant, or it expired.
    if (what === 'token refresh' && err instanceof InteractionRequiredAuthError) {
      return new ApiError(ErrorCode.TOKEN_REVOKED, "Microsoft no longer accepts this mailbox's grant; link it again.");
    }
    if (net.lastErrorStatus && net.lastErrorStatus >= 400) return providerError('refused', call, net.lastErrorStatus);
    return providerError('bad_answer', call);
  }
}
