import { Inject, Injectable } from '@nestjs/common';
import { CodeChallengeMethod, OAuth2Client, type Credentials } from 'google-auth-library';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { ApiError, ErrorCode } from '@app/common/errors';
import type { OAuthConnection } from '@app/database';
import { OAuthConnectionRepository } from '../connections/oauth-connection.repository';
import { isRecord, nonEmptyString, providerError, type ProviderFailure } from '../provider-http';
import type { LinkedMailbox, MailboxAccessToken, PkcePair } from './mailbox-provider';

export const GOOGLE_CALLBACK_PATH = '/api/v1/oauth/google/callback';

/** Scopes that identify the account rather than grant mailbox access. */
const IDENTITY_SCOPES = new Set(['openid', 'email', 'profile']);

/** How a google-auth-library (gaxios) call failed, in provider-http's terms. */
export function gaxiosFailure(err: unknown): { failure: ProviderFailure; status?: number } {
  const e = err as { response?: { status?: number }; status?: number; code?: unknown; name?: string; cause?: { name?: string } } | undefined;
  const status = e?.response?.status ?? e?.status;
  if (typeof status === 'number' && status >= 500) return { failure: 'server_error', status };
  if (typeof status === 'number' && status >= 400) return { failure: 'refused', status };
  if (typeof status === 'number') return { failure: 'bad_answer', status };
  const names = `${String(e?.code ?? '')} ${e?.name ?? ''} ${e?.cause?.name ?? ''}`;
  return { failure: /timeout|abort|ETIMEDOUT/i.test(names) ? 'timeout' : 'unreachable' };
}

/**
 * Gmail mailboxes through google-auth-library's OAuth2Client, the very class googleapis exposes
 * as `google.auth.OAuth2` (googleapis itself loads every Google API, about a second, so it is not
 * imported here). Offline access with forced consent so Google always answers a refresh token;
 * PKCE S256; the refresh token is stored sealed, and the client's `tokens` event stores every
 * token it obtains later (refreshed access tokens, a rotated refresh token).
 */
@Injectable()
export class GoogleMailboxService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly connections: OAuthConnectionRepository,
  ) {}

  /** 503 until GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET are set. */
  assertConfigured(): void {
    const { clientId, clientSecret } = this.config.oauth.google;
    if (!clientId || !clientSecret) throw new ApiError(ErrorCode.SERVICE_UNAVAILABLE, 'Google mailboxes are not configured on this server (GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET).');
  }

  private get redirectUri(): string {
    return `${this.config.oauth.callbackBaseUrl}${GOOGLE_CALLBACK_PATH}`;
  }

  /** A client for one operation, pointed at the configured endpoints. */
  client(): OAuth2Client {
    this.assertConfigured();
    const google = this.config.oauth.google;
    return new OAuth2Client({
      clientId: google.clientId,
      clientSecret: google.clientSecret,
      redirectUri: this.redirectUri,
      endpoints: { oauth2AuthBaseUrl: google.authUrl, oauth2TokenUrl: google.tokenUrl, oauth2RevokeUrl: google.revokeUrl },
      transporterOptions: {
        // Node's own fetch (gaxios would otherwise import node-fetch), each call bounded by
        // OAUTH_HTTP_TIMEOUT and tried once: a callback answers promptly, and a code is single-use.
        fetchImplementation: fetch,
        timeout: this.config.oauth.httpTimeoutMs,
        retryConfig: { retry: 0, noResponseRetries: 0 },
      },
    });
  }

  async generatePkce(): Promise<PkcePair> {
    const { codeVerifier, codeChallenge } = await this.client().generateCodeVerifierAsync();
    if (!codeChallenge) throw new Error('google-auth-library answered no code challenge');
    return { verifier: codeVerifier, challenge: codeChallenge };
  }

  authorizeUrl(state: string, pkce: PkcePair): Promise<string> {
    return Promise.resolve(
      this.client().generateAuthUrl({
        access_type: 'offline',
        // Google answers a refresh token only at consent: asked every time, a relink always gets one.
        prompt: 'consent',
        scope: this.config.oauth.google.scopes,
        state,
        code_challenge_method: CodeChallengeMethod.S256,
        code_challenge: pkce.challenge,
      }),
    );
  }

  private call(what: string) {
    return { provider: 'Google', what, timeoutMs: this.config.oauth.httpTimeoutMs };
  }

  private failure(err: unknown, what: string): ApiError {
    if (err instanceof ApiError) return err;
    const { failure, status } = gaxiosFailure(err);
    return providerError(failure, this.call(what), status);
  }

  /** Redeems the code with the verifier, then reads which account it is (OpenID userinfo). */
  async redeem(code: string, verifier: string): Promise<LinkedMailbox> {
    const client = this.client();
    let tokens: Credentials;
    try {
      ({ tokens } = await client.getToken({ code, codeVerifier: verifier, redirect_uri: this.redirectUri }));
    } catch (err) {
      throw this.failure(err, 'token exchange');
    }
    if (!nonEmptyString(tokens.access_token)) throw providerError('bad_answer', this.call('token exchange'));
    if (!nonEmptyString(tokens.refresh_token)) {
      throw new ApiError(ErrorCode.SERVICE_UNAVAILABLE, 'Google answered no refresh token, so the mailbox could not be used later. Nothing was stored; try again.');
    }
    client.setCredentials(tokens);
    let info: unknown;
    try {
      info = (await client.request({ url: this.config.oauth.google.userinfoUrl, method: 'GET' })).data;
    } catch (err) {
      throw this.failure(err, 'account details request');
    }
    if (!isRecord(info) || !nonEmptyString(info.sub, 255)) throw providerError('bad_answer', this.call('account details request'));
    const email = nonEmptyString(info.email, 320) ? info.email.trim().toLowerCase() : null;
    return {
      externalId: info.sub,
      email,
      scopes: typeof tokens.scope === 'string' ? tokens.scope.split(/\s+/).filter(Boolean) : [],
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      tokenCache: null,
      tokenExpiresAt: tokens.expiry_date ? new Date(tokens.expiry_date) : null,
      metadata: { emailVerified: info.email_verified === true },
    };
  }

  /** The scopes the mailbox must have been granted (Google lets a user untick some at consent). */
  requiredScopes(): string[] {
    return this.config.oauth.google.scopes.filter((s) => !IDENTITY_SCOPES.has(s));
  }

  /**
   * A valid access token: the stored one while it is fresh, else one obtained with the stored
   * refresh token. The `tokens` listener stores whatever the client obtained, sealed, before
   * this answers (Google may rotate the refresh token; the new one replaces the old).
   */
  async acquire(row: OAuthConnection, options: { forceRefresh?: boolean } = {}): Promise<MailboxAccessToken> {
    const refreshToken = this.connections.open(row, 'refreshToken');
    if (!refreshToken) throw new ApiError(ErrorCode.TOKEN_REVOKED, 'The mailbox has no refresh token any more; link it again.');
    const client = this.client();
    client.setCredentials({
      access_token: options.forceRefresh ? null : this.connections.open(row, 'accessToken'),
      refresh_token: refreshToken,
      expiry_date: options.forceRefresh ? null : (row.tokenExpiresAt?.getTime() ?? null),
    });
    const stored: Promise<unknown>[] = [];
    client.on('tokens', (tokens: Credentials) => {
      stored.push(
        this.connections.updateTokens(row, {
          accessToken: tokens.access_token ?? undefined,
          refreshToken: tokens.refresh_token ?? undefined,
          tokenExpiresAt: tokens.expiry_date ? new Date(tokens.expiry_date) : null,
        }),
      );
    });
    let token: string | null | undefined;
    try {
      ({ token } = await client.getAccessToken());
    } catch (err) {
      const { failure } = gaxiosFailure(err);
      // invalid_grant: the user revoked the app at Google, or the refresh token expired.
      if (failure === 'refused') throw new ApiError(ErrorCode.TOKEN_REVOKED, "Google no longer accepts this mailbox's grant; link it again.");
      throw this.failure(err, 'token refresh');
    } finally {
      await Promise.all(stored);
    }
    if (!token) throw providerError('bad_answer', this.call('token refresh'));
    return { accessToken: token, expiresAt: client.credentials.expiry_date ? new Date(client.credentials.expiry_date) : null };
  }

  /**
   * Revokes the grant at Google (its revocation endpoint; revoking the refresh token ends the
   * whole grant). Best effort for unlinking: false when Google could not be told.
   */
  async revoke(token: string): Promise<boolean> {
    try {
      await this.client().revokeToken(token);
      return true;
    } catch {
      return false;
    }
  }
}
