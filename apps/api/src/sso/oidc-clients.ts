import { Inject, Injectable } from '@nestjs/common';
import * as oidc from 'openid-client';
import { APP_CONFIG, AppConfig, SsoProviderConfig } from '@app/common/config';
import { ApiError, ErrorCode } from '@app/common/errors';
import { APP_LOGGER, AppLogger } from '@app/common/logging';

/** A provider that can be used: known by name and with its client credentials set. */
export interface EnabledProvider extends SsoProviderConfig {
  clientId: string;
  clientSecret: string;
}

/** How long a provider's discovered metadata is reused before it is fetched again. */
const DISCOVERY_TTL_MS = 60 * 60_000;

export const PROVIDER_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** "Google", "Microsoft", "Okta", or the configured name: for messages. */
export function displayName(provider: string): string {
  return provider.charAt(0).toUpperCase() + provider.slice(1);
}

/**
 * The OpenID Connect client of each provider: openid-client's `Configuration`, built by discovery
 * from the provider's issuer URL (its `/.well-known/openid-configuration`), kept for an hour, and
 * fetched again on the next sign-in when discovery failed. openid-client does the protocol: the
 * authorization URL, PKCE, the state and nonce checks, the code exchange and the ID token checks
 * (issuer, audience, signature against the provider's JWKS, expiry, nonce).
 *
 * Microsoft's multi-tenant issuers (`/organizations/v2.0`, `/common/v2.0`) publish the issuer
 * template `https://login.microsoftonline.com/{tenantid}/v2.0`; openid-client recognises them by
 * their origin and checks each ID token's `iss` against the template filled with the token's own
 * `tid`, so no special case is needed here (docs/sso.md).
 */
@Injectable()
export class OidcClients {
  private readonly cache = new Map<string, { at: number; config: Promise<oidc.Configuration> }>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(APP_LOGGER) private readonly logger: AppLogger,
  ) {}

  /** 404 NOT_FOUND for a name that is not a provider; 503 while its client id and secret are not set. */
  provider(name: string): EnabledProvider {
    const provider = PROVIDER_NAME.test(name) ? this.config.sso.providers[name] : undefined;
    if (!provider) throw new ApiError(ErrorCode.NOT_FOUND, 'No such sign-in provider.');
    if (!provider.clientId || !provider.clientSecret) {
      const variable = `SSO_${name.toUpperCase().replace(/-/g, '_')}`;
      throw new ApiError(ErrorCode.SERVICE_UNAVAILABLE, `${displayName(name)} sign-in is not configured on this server (${variable}_CLIENT_ID, ${variable}_CLIENT_SECRET).`);
    }
    return provider as EnabledProvider;
  }

  /** The provider's client; 503 SERVICE_UNAVAILABLE when discovery fails or times out. */
  async client(provider: EnabledProvider): Promise<oidc.Configuration> {
    const cached = this.cache.get(provider.name);
    if (cached && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.config;
    const config = this.discover(provider);
    this.cache.set(provider.name, { at: Date.now(), config });
    // A failed discovery is not kept: the next sign-in tries again.
    config.catch(() => {
      if (this.cache.get(provider.name)?.config === config) this.cache.delete(provider.name);
    });
    return config;
  }

  private async discover(provider: EnabledProvider): Promise<oidc.Configuration> {
    const execute = [oidc.enableNonRepudiationChecks];
    if (this.config.sso.allowInsecureIssuers) execute.push(oidc.allowInsecureRequests);
    try {
      const client = await oidc.discovery(
        new URL(provider.issuer),
        provider.clientId,
        {
          client_secret: provider.clientSecret,
          // openid-client takes the tolerance as a symbol-keyed client property.
          [oidc.clockTolerance]: this.config.sso.clockToleranceSec,
        },
        oidc.ClientSecretPost(provider.clientSecret),
        // openid-client's timeout is in seconds and bounds each request (discovery, token, JWKS).
        { execute, timeout: this.config.oauth.httpTimeoutMs / 1000 },
      );
      client.timeout = this.config.oauth.httpTimeoutMs / 1000;
      return client;
    } catch (err) {
      const mapped = providerFailure(err, provider.name, 'discovery');
      this.logger.warn({ provider: provider.name, cause: describeCause(err) }, 'sso provider discovery failed');
      throw mapped ?? new ApiError(ErrorCode.SERVICE_UNAVAILABLE, `${displayName(provider.name)} could not be reached. Try again.`);
    }
  }
}

/** A short, secret-free description of an openid-client failure for logs and audit rows. */
export function describeCause(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string; status?: number; error?: string } | null;
  if (!e) return 'unknown';
  if (e instanceof oidc.ResponseBodyError) return `${e.code}:${e.status}:${e.error}`;
  if (e instanceof oidc.AuthorizationResponseError) return `${e.code}:${String(e.error).slice(0, 64)}`;
  return [e.name, e.code, e.message].filter(Boolean).join(':').slice(0, 200);
}

/**
 * Maps a failure of openid-client (discovery, the code exchange, the ID token checks) to the
 * contract: the provider unreachable, timing out or failing (5xx, not JSON) → 503
 * SERVICE_UNAVAILABLE; the provider refusing the code (an OAuth error body) or any ID token
 * check failing → 401 TOKEN_INVALID, an expired ID token → 401 TOKEN_EXPIRED; the user declining
 * at the provider (`?error=` on the callback) → 403 FORBIDDEN. Anything else is not an openid-client
 * failure: undefined (the caller lets it through as a bug).
 */
export function providerFailure(err: unknown, provider: string, what: 'discovery' | 'sign-in'): ApiError | undefined {
  const name = displayName(provider);
  const unavailable = (detail: string) => new ApiError(ErrorCode.SERVICE_UNAVAILABLE, `${name} ${detail} Nothing was stored; try again.`);
  if (err instanceof oidc.AuthorizationResponseError) {
    return new ApiError(ErrorCode.FORBIDDEN, `${name} did not approve the sign-in (${String(err.error).slice(0, 64)}).`);
  }
  if (err instanceof oidc.ResponseBodyError) {
    if (err.status >= 500) return unavailable(`failed the ${what} (HTTP ${err.status}).`);
    return new ApiError(ErrorCode.TOKEN_INVALID, `${name} refused the authorization code (${String(err.error).slice(0, 64)}); sign in again.`);
  }
  if (err instanceof oidc.WWWAuthenticateChallengeError) {
    return new ApiError(ErrorCode.TOKEN_INVALID, `${name} refused this server's client credentials.`);
  }
  if (err instanceof TypeError && /fetch failed/i.test(err.message)) return unavailable(`could not be reached for the ${what}.`);
  if (err instanceof oidc.ClientError) {
    const cause = (err.cause as { cause?: { claim?: unknown } } | undefined)?.cause;
    switch (err.code) {
      case 'OAUTH_TIMEOUT':
      case 'OAUTH_ABORT':
        return unavailable(`did not answer the ${what} in time.`);
      case 'OAUTH_RESPONSE_IS_NOT_CONFORM':
      case 'OAUTH_RESPONSE_IS_NOT_JSON':
        return unavailable(`gave an unexpected answer to the ${what}.`);
      case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
        if (cause?.claim === 'exp') return new ApiError(ErrorCode.TOKEN_EXPIRED, `The ID token from ${name} has expired; sign in again.`);
        return new ApiError(ErrorCode.TOKEN_INVALID, `The ID token from ${name} is not valid yet or was issued in the future.`);
      case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
      case 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED':
      case 'OAUTH_KEY_SELECTION_FAILED':
      case 'OAUTH_INVALID_RESPONSE':
      case 'OAUTH_PARSE_ERROR':
      case 'OAUTH_UNSUPPORTED_OPERATION':
        if (what === 'discovery') return unavailable('published metadata this server cannot use.');
        return new ApiError(ErrorCode.TOKEN_INVALID, `The ID token from ${name} failed verification (${err.message}).`);
      default:
        if (err.cause instanceof TypeError) return unavailable(`could not be reached for the ${what}.`);
        return unavailable(`gave an unexpected answer to the ${what}.`);
    }
  }
  return undefined;
}
