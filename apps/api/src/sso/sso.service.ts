import { Inject, Injectable } from '@nestjs/common';
import * as oidc from 'openid-client';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { decryptSecret, encryptSecret, isPkceVerifier, randomToken, sha256Hex } from '@app/common/crypto';
import { ApiError, ErrorCode } from '@app/common/errors';
import { pathOf, reportRefusal, type HttpRequest, type HttpResponse, type RequestContext } from '@app/common/http';
import { APP_LOGGER, AppLogger } from '@app/common/logging';
import { MetricsService } from '@app/common/metrics';
import type { OneTimeToken } from '@app/database';
import { AuditService } from '../audit/audit.service';
import { nonEmptyString } from '../oauth/provider-http';
import { OneTimeTokenService } from '../one-time-tokens/one-time-token.service';
import { RateLimitService } from '../rate-limit/rate-limit.service';
import { MfaService } from '../retailer/mfa/mfa.service';
import { RetailerAuthService } from '../retailer/retailer-auth.service';
import { SessionCookies } from '../retailer/session-cookies';
import { describeCause, EnabledProvider, OidcClients, providerFailure } from './oidc-clients';
import { SsoBrowserCookie, ssoCallbackPath } from './sso-browser-cookie';
import { identityFromClaims, SsoIdentity } from './sso-identity';
import { SsoMembersService } from './sso-members.service';
import { RefusalSubject, SsoRefusal } from './sso-refusal';

/** What the `sso_state` row keeps between the start and the callback (jsonb `metadata`). */
interface PendingSignIn {
  provider: string;
  redirect: string;
  nonce: string;
  /** The PKCE verifier, AES-GCM sealed with APP_ENCRYPTION_KEY (associated data: the state's hash). */
  verifier?: string;
  /** SHA-256 of the browser cookie's secret. */
  browser: string;
}

/**
 * SSO sign-in over OpenID Connect (`GET /auth/sso/:provider/start` and `/callback`).
 *
 * start: checks the redirect against SSO_ALLOWED_REDIRECTS, stores a single-use state (hashed)
 * with the nonce, the sealed PKCE verifier and the hash of a browser-binding cookie, and sends
 * the browser to the provider. callback: the state must exist, be unused, belong to this provider
 * and to this browser; it is spent once, then openid-client exchanges the code and checks the ID
 * token; the verified email finds the member (or provisions one); the member gets a session, or
 * the MFA challenge of a password login.
 *
 * Failures before the state is proven (no state, unknown, replayed, another browser's) answer
 * the contract's JSON error: there is no trustworthy place to send the browser. Every failure
 * after it goes back to the sign-in's redirect with `#error=<CODE>&message=…` in the fragment, so
 * the dashboard shows it and nothing reaches a server log or a Referer. Every attempt writes one
 * audit row: `login_success` / `mfa_challenge_started` or `login_failure`, all with
 * `metadata.method = 'sso'`, the provider and the provider's subject when known.
 */
@Injectable()
export class SsoService {
  private readonly browser: SsoBrowserCookie;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clients: OidcClients,
    private readonly oneTime: OneTimeTokenService,
    private readonly limits: RateLimitService,
    private readonly audit: AuditService,
    private readonly members: SsoMembersService,
    private readonly mfa: MfaService,
    private readonly auth: RetailerAuthService,
    private readonly sessionCookies: SessionCookies,
    @Inject(APP_LOGGER) private readonly logger: AppLogger,
    private readonly metrics: MetricsService,
  ) {
    this.browser = new SsoBrowserCookie(config.http.cookieSecure);
  }

  /** The redirect URI registered with every provider: `{OAUTH_CALLBACK_BASE_URL}/api/v1/auth/sso/{provider}/callback`. */
  callbackUrl(provider: string): string {
    return `${this.config.oauth.callbackBaseUrl}${ssoCallbackPath(provider)}`;
  }

  /** GET /auth/sso/:provider/start → the provider's authorization URL (the caller answers 302). */
  async start(name: string, redirect: unknown, req: HttpRequest, res: HttpResponse, ctx: RequestContext): Promise<string> {
    try {
      // Each start stores a state row: bounded per address before anything is written.
      await this.limits.consume('ssoStartPerIp', ctx.ip);
      const provider = this.clients.provider(name);
      if (!nonEmptyString(redirect, 2048) || !this.config.sso.allowedRedirects.includes(redirect)) {
        throw new SsoRefusal(
          ErrorCode.VALIDATION_FAILED,
          'redirect_not_allowed',
          'The redirect is not one this server may return to.',
          {},
          [{ field: 'redirect', message: 'redirect must be exactly one of the URLs in SSO_ALLOWED_REDIRECTS' }],
        );
      }
      const client = await this.clients.client(provider);

      const state = randomToken(32);
      const nonce = oidc.randomNonce();
      const verifier = oidc.randomPKCECodeVerifier();
      const challenge = await oidc.calculatePKCECodeChallenge(verifier);
      const ttlMs = this.config.sso.stateTtlMs;
      const browser = this.browser.bind(req, res, provider.name, state, ttlMs);
      const pending: PendingSignIn = { provider: provider.name, redirect, nonce, verifier: this.sealVerifier(state, verifier), browser };
      await this.oneTime.issue('sso_state', { ttlMs, metadata: { ...pending } }, undefined, state);
      await this.audit.record({ event: 'sso_login_started', actorType: 'anonymous', status: 'success', metadata: { method: 'sso', provider: provider.name, redirect } }, ctx);

      const url = oidc.buildAuthorizationUrl(client, {
        redirect_uri: this.callbackUrl(provider.name),
        scope: provider.scopes.join(' '),
        state,
        nonce,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      return url.href;
    } catch (err) {
      throw await this.refused(err, name, 'start', ctx, {}, { redirect: typeof redirect === 'string' ? redirect.slice(0, 300) : undefined });
    }
  }

  /**
   * GET /auth/sso/:provider/callback → where to send the browser: the redirect (signed in, or with
   * the MFA challenge in the fragment, or with the error in the fragment). Throws (JSON error)
   * only while the state is not proven.
   */
  async callback(name: string, req: HttpRequest, res: HttpResponse, ctx: RequestContext): Promise<string> {
    const query = (req.query ?? {}) as Record<string, unknown>;
    let pending: PendingSignIn;
    let state: string;
    let provider: EnabledProvider;
    try {
      provider = this.clients.provider(name);
      ({ pending, state } = await this.spendState(provider.name, query, req));
      this.browser.release(res, provider.name, state);
    } catch (err) {
      throw await this.refused(err, name, 'callback', ctx);
    }

    // From here on the browser is the one that started the sign-in, and the redirect is one it
    // was allowed to ask for: the outcome goes back there.
    let identity: SsoIdentity | undefined;
    try {
      if (!this.config.sso.allowedRedirects.includes(pending.redirect)) {
        throw new SsoRefusal(ErrorCode.TOKEN_INVALID, 'redirect_no_longer_allowed', 'This sign-in was started for a page that is no longer allowed; start again.');
      }
      const verifier = this.openVerifier(state, pending.verifier);
      const client = await this.clients.client(provider);
      const current = new URL(this.callbackUrl(provider.name));
      for (const [key, value] of Object.entries(query)) if (typeof value === 'string') current.searchParams.set(key, value);
      let claims: Record<string, unknown>;
      try {
        const tokens = await oidc.authorizationCodeGrant(client, current, {
          pkceCodeVerifier: verifier,
          expectedState: state,
          expectedNonce: pending.nonce,
          idTokenExpected: true,
        });
        claims = (tokens.claims() ?? {}) as Record<string, unknown>;
        // The provider's access and refresh tokens are not kept: sign-in needs only the ID token.
      } catch (err) {
        const mapped = providerFailure(err, provider.name, 'sign-in');
        if (!mapped) throw err;
        throw new SsoRefusal(mapped.code, `provider:${describeCause(err)}`, mapped.message);
      }
      identity = identityFromClaims(claims, provider.verifiedEmailClaims, provider.mfaAcrValues);
      const { user, provisioned } = await this.members.resolve(identity, provider.name, ctx);
      // The retailer's trust covers sign-ins whose token proves the provider's MFA, no others.
      const providerMfaTrusted = user.retailer.ssoTrustProviderMfa && identity.providerMfa;
      const details = {
        provider: provider.name,
        subject: identity.subject,
        ...(provisioned ? { provisioned: true } : {}),
        ...(providerMfaTrusted ? { providerMfa: true } : {}),
      };

      if (this.mfa.hasFactor(user) && !providerMfaTrusted) {
        const challenge = await this.mfa.startChallenge(user, 'sso', ctx, details);
        return withFragment(pending.redirect, { mfaToken: challenge.mfaToken, methods: challenge.methods.join(','), expiresAt: challenge.expiresAt });
      }
      const signedIn = await this.auth.completeSignIn(user, 'sso', ctx, details);
      this.sessionCookies.set(res, signedIn.issued);
      return pending.redirect;
    } catch (err) {
      const error = await this.refused(err, provider.name, 'callback', ctx, { subject: identity?.subject, email: identity?.email });
      // Answered with a redirect, this refusal never reaches the global filter: reported here as it would be.
      const detail = err instanceof SsoRefusal ? err.detail : undefined;
      reportRefusal(error, req, this.logger, this.metrics, { provider: provider.name, detail });
      if (error.code === ErrorCode.SERVICE_UNAVAILABLE) {
        this.logger.warn({ requestId: ctx.requestId, path: pathOf(req), provider: provider.name, detail }, 'sso provider unavailable');
      }
      return withFragment(pending.redirect, { error: error.code, message: error.message, requestId: ctx.requestId });
    }
  }

  /**
   * The state of the callback's query, proven and spent: it must exist unused and unexpired,
   * belong to this provider and to this browser (its cookie). Only then is it consumed, in one
   * conditional UPDATE, so a replay (or a second callback racing this one) is TOKEN_INVALID. A
   * callback from another browser does not spend it.
   */
  private async spendState(provider: string, query: Record<string, unknown>, req: HttpRequest): Promise<{ pending: PendingSignIn; state: string }> {
    const state = query.state;
    if (!nonEmptyString(state, 200)) throw new SsoRefusal(ErrorCode.TOKEN_INVALID, 'state_missing', 'The sign-in has no state; start again.');
    const row = await this.oneTime.peek('sso_state', state);
    if (!row || row.expiresAt.getTime() <= Date.now()) {
      throw new SsoRefusal(ErrorCode.TOKEN_INVALID, 'state_unknown_used_or_expired', 'This sign-in link is invalid, expired or already used; start again.');
    }
    const pending = pendingOf(row);
    if (!pending || pending.provider !== provider) throw new SsoRefusal(ErrorCode.TOKEN_INVALID, 'state_other_provider', 'This sign-in was started with another provider; start again.');
    if (!this.browser.matches(req, provider, state, pending.browser)) {
      throw new SsoRefusal(ErrorCode.TOKEN_INVALID, 'state_other_browser', 'This sign-in was started in another browser; start again here.');
    }
    await this.oneTime.consume('sso_state', state).catch(() => {
      throw new SsoRefusal(ErrorCode.TOKEN_INVALID, 'state_unknown_used_or_expired', 'This sign-in link is invalid, expired or already used; start again.');
    });
    return { pending, state };
  }

  private sealVerifier(state: string, verifier: string): string {
    return encryptSecret(this.config.encryptionKey, verifier, `sso_state:${sha256Hex(state)}`);
  }

  /** The PKCE verifier of this state; a row without one (or one that does not open) never reaches the provider. */
  private openVerifier(state: string, sealed: string | undefined): string {
    let verifier: string | undefined;
    try {
      verifier = sealed ? decryptSecret(this.config.encryptionKey, sealed, `sso_state:${sha256Hex(state)}`) : undefined;
    } catch {
      verifier = undefined;
    }
    if (!isPkceVerifier(verifier)) {
      throw new SsoRefusal(ErrorCode.TOKEN_INVALID, 'pkce_verifier_missing', 'This sign-in cannot be completed (its PKCE verifier is missing); start again.');
    }
    return verifier;
  }

  /**
   * The audit row of a refused attempt, then the error to answer. Errors that are not the
   * contract's (bugs) are audited as INTERNAL_ERROR and thrown on unchanged, so the global filter
   * logs them with the request id.
   */
  private async refused(err: unknown, provider: string, stage: 'start' | 'callback', ctx: RequestContext, known: RefusalSubject = {}, extra: Record<string, unknown> = {}): Promise<ApiError> {
    const api = err instanceof ApiError ? err : undefined;
    const who: RefusalSubject = { ...known, ...(err instanceof SsoRefusal ? err.who : {}) };
    const detail = err instanceof SsoRefusal ? err.detail : api ? undefined : 'unexpected';
    await this.audit.record(
      {
        event: 'login_failure',
        actorType: who.userId ? 'user' : 'anonymous',
        actorId: who.userId ?? null,
        retailerId: who.retailerId ?? null,
        status: 'failure',
        reason: api?.code ?? ErrorCode.INTERNAL_ERROR,
        metadata: {
          method: 'sso',
          provider: provider.slice(0, 40),
          stage,
          ...(detail ? { detail } : {}),
          ...(who.subject ? { subject: who.subject } : {}),
          ...(who.email ? { email: who.email } : {}),
          ...extra,
        },
      },
      ctx,
    );
    if (!api) throw err;
    // A refusal answers only the contract's fields (SsoRefusal's extras stay in the audit row).
    return new ApiError(api.code, api.message, api.details, api.headers);
  }
}

function pendingOf(row: OneTimeToken): PendingSignIn | null {
  const m = row.metadata ?? {};
  if (!nonEmptyString(m.provider) || !nonEmptyString(m.redirect) || !nonEmptyString(m.nonce) || !nonEmptyString(m.browser)) return null;
  return { provider: m.provider, redirect: m.redirect, nonce: m.nonce, browser: m.browser, verifier: nonEmptyString(m.verifier) ? m.verifier : undefined };
}

/** `redirect#k=v&…`: a fragment never reaches a server nor a Referer header. */
function withFragment(redirect: string, values: Record<string, string>): string {
  return `${redirect}#${new URLSearchParams(values).toString()}`;
}
