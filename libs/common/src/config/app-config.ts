import { createHash, createHmac } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { loadOrCreateDevSecrets } from './dev-secrets';
import {
  boolean,
  ConfigError,
  durationMs,
  Env,
  integer,
  list,
  read,
  rate,
  RateLimitRule,
  redactUrl,
  trustProxy,
  TrustProxy,
  url,
  words,
} from './env-parsers';

/** The token types of the platform, each with its own signing secret. */
export const TOKEN_TYPES = ['retailer', 'admin', 'portal', 'bridge', 'reactivate'] as const;
/** The contract's token types plus `mfa`, the login challenge token (never an access token). */
export type TokenType = (typeof TOKEN_TYPES)[number] | 'mfa';

export const SECRET_VARIABLE: Record<(typeof TOKEN_TYPES)[number], string> = {
  retailer: 'RETAILER_JWT_PRIVATE_KEY',
  admin: 'ADMIN_JWT_PRIVATE_KEY',
  portal: 'PORTAL_JWT_PRIVATE_KEY',
  bridge: 'BRIDGE_JWT_PRIVATE_KEY',
  reactivate: 'REACTIVATE_JWT_PRIVATE_KEY',
};

export interface SigningKey {
  /** First 16 hex characters of SHA-256 over the secret's UTF-8 bytes (the contract's `kid`). */
  kid: string;
  secret: Buffer;
}

export interface KeySet {
  current: SigningKey;
  /** Accepted for verification only (`<TYPE>_JWT_PREVIOUS_KEYS`). */
  previous: SigningKey[];
}

export interface AppConfig {
  env: string;
  isProduction: boolean;
  http: {
    port: number;
    host: string;
    publicBaseUrl: string;
    corsOrigins: string[];
    trustProxy: TrustProxy;
    cookieSecure: boolean;
    retailerAccessCookieName: string;
    metricsToken?: string;
  };
  database: { url?: string; embedded: boolean; dataDir: string; poolSize: number; connectTimeoutMs: number };
  redis: { url?: string; keyPrefix: string };
  jwt: { issuer: string; keys: Record<TokenType, KeySet>; bridgeAllowedIssuers: string[] };
  encryptionKey: Buffer;
  auth: {
    accessTokenTtlMs: number;
    refreshTokenTtlMs: number;
    sessionIdleTimeoutMs: number;
    refreshReuseGraceMs: number;
    maxSessionsPerUser: number;
    loginMaxAttempts: number;
    lockoutWindowMs: number;
    bcryptCost: number;
    /** Threads that run bcrypt (PASSWORD_HASH_THREADS, default: the CPUs available). */
    passwordHashThreads: number;
    /** How much lower their priority is than the event loop's (PASSWORD_HASH_NICE, 0..19, default 19). */
    passwordHashNice: number;
    /** Linux: run them under SCHED_IDLE, so they take only CPU nothing else wants (PASSWORD_HASH_IDLE_POLICY, default true). */
    passwordHashIdlePolicy: boolean;
    passwordMinLength: number;
    passwordRequireClasses: boolean;
    resetLinkTtlMs: number;
    magicLinkTtlMs: number;
    inviteTtlMs: number;
    mfaChallengeTtlMs: number;
    emailOtpTtlMs: number;
    /** The issuer shown by authenticator apps next to the account. */
    totpIssuer: string;
    apiKeyRotationGraceMs: number;
    apiKeyDefaultExpiryDays: number;
    /** The single-use code of POST /portal/sso/handoff (default 60 s). */
    portalCodeTtlMs: number;
    /** An impersonation token's lifetime (default and maximum 1 h). */
    impersonationTtlMs: number;
  };
  /** Per-IP and per-email limits besides the login lockout (`RATE_LIMIT_*`, written `N/duration`). */
  rateLimits: {
    loginPerIp: RateLimitRule;
    registerPerIp: RateLimitRule;
    forgotPerIp: RateLimitRule;
    forgotPerEmail: RateLimitRule;
    magicLinkPerIp: RateLimitRule;
    magicLinkPerEmail: RateLimitRule;
    mfaPerIp: RateLimitRule;
    otpSendPerEmail: RateLimitRule;
    portalExchangePerIp: RateLimitRule;
    oauthInstallPerIp: RateLimitRule;
    /** GET /auth/sso/:provider/start: each one stores a state row (RATE_LIMIT_SSO_START_IP, default 30/1m). */
    ssoStartPerIp: RateLimitRule;
    /** POST /settings/security/sso/domains/:domain/verify: each one is a DNS lookup (RATE_LIMIT_SSO_VERIFY_IP, default 10/1m). */
    ssoVerifyPerIp: RateLimitRule;
  };
  mail: { smtpUrl?: string; from: string; pollIntervalMs: number };
  /** SSO sign-in over OpenID Connect (`/auth/sso/:provider/*`): see docs/sso.md. */
  sso: SsoConfig;
  /** Store connections (OAuth module): provider credentials and endpoints, real platforms by default. */
  oauth: OAuthConfig;
  log: { level: string };
}

/** `AppConfig.oauth`: see docs/oauth-stores.md for every variable. */
export interface OAuthConfig {
  /** Public base URL of this API as providers and browsers reach it; `/api/v1/oauth/...` is appended. */
  callbackBaseUrl: string;
  /** Where a browser lands after an install or connect (the merchant dashboard). */
  dashboardUrl: string;
  /**
   * Exact URLs a mailbox link may return to, chosen with `?redirect=` on connect
   * (OAUTH_DASHBOARD_REDIRECTS, default OAUTH_DASHBOARD_URL alone). See docs/mailboxes.md.
   */
  dashboardRedirects: string[];
  /** Lifetime of a Shopify `state` (single use, stored hashed). */
  stateTtlMs: number;
  /** Every call to a provider (token exchange, revoke, shop details) is abandoned after this. */
  httpTimeoutMs: number;
  shopify: {
    /** Both set, or the Shopify routes answer 503 "not configured". */
    apiKey?: string;
    apiSecret?: string;
    /** `https://{shop}/admin`: authorize, access_token, api_permissions and the REST API live below it. */
    adminBaseUrlTemplate: string;
    apiVersion: string;
    /** How far a signed callback's `timestamp` may be from now. */
    hmacToleranceMs: number;
  };
  bigcommerce: { clientId?: string; clientSecret?: string; tokenUrl: string };
  woocommerce: { appName: string; connectTtlMs: number };
  /** Outlook mailbox linking through MSAL; the routes answer 503 until both credentials are set. */
  microsoft: {
    clientId?: string;
    clientSecret?: string;
    /** MSAL authority, `https://login.microsoftonline.com/common` by default (a tenant id, or a local stand-in). */
    authority: string;
    /** Space-separated scopes asked for besides MSAL's own (`openid profile offline_access`). */
    scopes: string[];
  };
  /** Gmail mailbox linking through googleapis' OAuth2Client; 503 until both credentials are set. */
  google: {
    clientId?: string;
    clientSecret?: string;
    authUrl: string;
    tokenUrl: string;
    revokeUrl: string;
    /** Where the linked mailbox's address is read (OpenID userinfo). */
    userinfoUrl: string;
    scopes: string[];
  };
}

/** One OpenID Connect provider for SSO sign-in. Enabled once its client id and secret are set. */
export interface SsoProviderConfig {
  /** The name in `/auth/sso/:provider/*`: google, microsoft, okta, or any name in SSO_PROVIDERS. */
  name: string;
  /** Issuer URL; its `/.well-known/openid-configuration` gives the endpoints and the JWKS. */
  issuer: string;
  clientId?: string;
  clientSecret?: string;
  scopes: string[];
  /**
   * ID token claims that prove the email is verified: the email counts only when one of them is
   * exactly `true` (SSO_<NAME>_VERIFIED_EMAIL_CLAIMS). `email_verified` everywhere; Microsoft also
   * `xms_edov` (Entra's "email domain owner verified" optional claim), see docs/sso.md.
   */
  verifiedEmailClaims: string[];
  /**
   * `acr` values that mean the provider itself asked for a second factor
   * (SSO_<NAME>_MFA_ACR_VALUES). With the retailer's `trustProviderMfa`, a sign-in skips this
   * service's challenge only when the ID token proves MFA: `amr` holds `mfa` (RFC 8176), or `acr`
   * is one of these. See docs/sso.md.
   */
  mfaAcrValues: string[];
}

/** Where just-in-time domains are proven: a TXT record the retailer publishes (docs/sso.md). */
export interface SsoDomainVerificationConfig {
  /** Resolvers to ask (SSO_DNS_SERVERS, `host` or `host:port`); empty: the system's. */
  dnsServers: string[];
  /** How long one lookup may take before the verification answers 503 (SSO_DNS_TIMEOUT, default 5 s). */
  timeoutMs: number;
}

export interface SsoConfig {
  /** Exact URLs a sign-in may return to (`?redirect=`); anything else is refused before leaving. */
  allowedRedirects: string[];
  providers: Record<string, SsoProviderConfig>;
  /** Lifetime of a sign-in's `state` (single use, stored hashed, bound to the browser). */
  stateTtlMs: number;
  /** Allowed clock skew when checking an ID token's `iat`/`exp`. */
  clockToleranceSec: number;
  /** Plain-http issuers (local stand-ins); never in production. */
  allowInsecureIssuers: boolean;
  domainVerification: SsoDomainVerificationConfig;
}

/** The providers with defaults. Any other name listed in SSO_PROVIDERS needs SSO_<NAME>_ISSUER. */
const SSO_DEFAULT_ISSUERS: Record<string, string | undefined> = {
  google: 'https://accounts.google.com',
  microsoft: 'https://login.microsoftonline.com/organizations/v2.0',
  okta: undefined,
};

/** Claims besides `email_verified` that some providers use to say an email is verified. */
const SSO_DEFAULT_VERIFIED_EMAIL_CLAIMS: Record<string, string> = { microsoft: 'email_verified xms_edov' };

/** OpenID PAPE's multi-factor policy, which any provider may send as `acr`. */
const PAPE_MULTI_FACTOR = 'http://schemas.openid.net/pape/policies/2007/06/multi-factor';
/** `acr` values that mean MFA, by provider: Okta's two-factor and phishing-resistant levels. Google's and Entra's v2.0 ID tokens say neither. */
const SSO_DEFAULT_MFA_ACR_VALUES: Record<string, string> = { okta: `urn:okta:loa:2fa:any phr phrh ${PAPE_MULTI_FACTOR}` };

function loadSsoConfig(env: Env, isProduction: boolean): SsoConfig {
  const allowInsecureIssuers = boolean(env, 'SSO_ALLOW_INSECURE_ISSUERS', false);
  if (allowInsecureIssuers && isProduction) throw new ConfigError('SSO_ALLOW_INSECURE_ISSUERS', 'must not be set in production');
  const names = [...new Set([...Object.keys(SSO_DEFAULT_ISSUERS), ...list(env, 'SSO_PROVIDERS').map((n) => n.toLowerCase())])];
  const providers: Record<string, SsoProviderConfig> = {};
  for (const name of names) {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(name)) throw new ConfigError('SSO_PROVIDERS', `"${name}" is not a provider name (lowercase letters, digits, dashes)`);
    const prefix = `SSO_${name.toUpperCase().replace(/-/g, '_')}`;
    const { id, secret } = credentialPair(env, `${prefix}_CLIENT_ID`, `${prefix}_CLIENT_SECRET`);
    const issuerRaw = read(env, `${prefix}_ISSUER`) ?? SSO_DEFAULT_ISSUERS[name];
    if (!issuerRaw) {
      if (id) throw new ConfigError(`${prefix}_ISSUER`, `is required when ${prefix}_CLIENT_ID is set`);
      continue;
    }
    providers[name] = {
      name,
      issuer: providerUrl(env, `${prefix}_ISSUER`, issuerRaw, isProduction),
      clientId: id,
      clientSecret: secret,
      scopes: words(env, `${prefix}_SCOPES`, 'openid email profile'),
      verifiedEmailClaims: words(env, `${prefix}_VERIFIED_EMAIL_CLAIMS`, SSO_DEFAULT_VERIFIED_EMAIL_CLAIMS[name] ?? 'email_verified'),
      mfaAcrValues: words(env, `${prefix}_MFA_ACR_VALUES`, SSO_DEFAULT_MFA_ACR_VALUES[name] ?? PAPE_MULTI_FACTOR),
    };
  }
  return {
    allowedRedirects: redirectAllowlist(env, 'SSO_ALLOWED_REDIRECTS', isProduction),
    providers,
    stateTtlMs: durationMs(env, 'SSO_STATE_TTL', '10m'),
    clockToleranceSec: Math.round(durationMs(env, 'SSO_CLOCK_TOLERANCE', '30s') / 1000),
    allowInsecureIssuers,
    domainVerification: { dnsServers: list(env, 'SSO_DNS_SERVERS'), timeoutMs: durationMs(env, 'SSO_DNS_TIMEOUT', '5s') },
  };
}

/**
 * Exact URLs a browser may be sent back to (a comma-separated list): absolute http(s) URLs (https
 * in production) without a fragment, since the outcome may be appended as one.
 */
function redirectAllowlist(env: Env, name: string, isProduction: boolean, fallback: string[] = []): string[] {
  if (read(env, name) === undefined) return fallback;
  const entries = list(env, name);
  for (const entry of entries) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(entry);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.hash || entry.includes('#')) {
      throw new ConfigError(name, `has "${redactUrl(entry)}", which is not an absolute http(s) URL without a fragment`);
    }
    if (isProduction && parsed.protocol !== 'https:') throw new ConfigError(name, 'must list https URLs in production');
  }
  return entries;
}

/** Both halves of a provider credential, or neither (one alone is a configuration mistake). */
function credentialPair(env: Env, idName: string, secretName: string): { id?: string; secret?: string } {
  const id = read(env, idName);
  const secret = read(env, secretName);
  if (id && !secret) throw new ConfigError(secretName, `is required when ${idName} is set`);
  if (secret && !id) throw new ConfigError(idName, `is required when ${secretName} is set`);
  return { id, secret };
}

/** A provider endpoint: a URL, https in production (http only for local stand-ins and staging). */
function providerUrl(env: Env, name: string, fallback: string, isProduction: boolean, placeholder?: string): string {
  const raw = (read(env, name) ?? fallback).replace(/\/+$/, '');
  if (placeholder && !raw.includes(placeholder)) throw new ConfigError(name, `must contain ${placeholder} (got "${redactUrl(raw)}")`);
  let parsed: URL;
  try {
    parsed = new URL(placeholder ? raw.replace(placeholder, 'shop.example') : raw);
  } catch {
    throw new ConfigError(name, `must be a URL (got "${redactUrl(raw)}")`);
  }
  if (parsed.protocol !== 'https:' && (isProduction || parsed.protocol !== 'http:')) {
    throw new ConfigError(name, isProduction ? 'must be an https URL in production' : 'must be an http(s) URL');
  }
  return raw;
}

/** MICROSOFT_AUTHORITY: https even outside production, since MSAL refuses any other authority. */
function msalAuthority(env: Env, isProduction: boolean): string {
  const authority = providerUrl(env, 'MICROSOFT_AUTHORITY', 'https://login.microsoftonline.com/common', isProduction);
  if (!authority.startsWith('https://')) throw new ConfigError('MICROSOFT_AUTHORITY', 'must be an https URL (MSAL accepts no other authority)');
  return authority;
}

function loadOAuthConfig(env: Env, publicBaseUrl: string, isProduction: boolean): OAuthConfig {
  const shopify = credentialPair(env, 'SHOPIFY_API_KEY', 'SHOPIFY_API_SECRET');
  const bigcommerce = credentialPair(env, 'BIGCOMMERCE_CLIENT_ID', 'BIGCOMMERCE_CLIENT_SECRET');
  const microsoft = credentialPair(env, 'MICROSOFT_CLIENT_ID', 'MICROSOFT_CLIENT_SECRET');
  const google = credentialPair(env, 'GOOGLE_CLIENT_ID', 'GOOGLE_CLIENT_SECRET');
  const apiVersion = read(env, 'SHOPIFY_API_VERSION') ?? '2026-07';
  if (!/^\d{4}-\d{2}$|^unstable$/.test(apiVersion)) throw new ConfigError('SHOPIFY_API_VERSION', `must look like 2026-07 (got "${apiVersion}")`);
  const dashboardUrl = (url(env, 'OAUTH_DASHBOARD_URL') ?? publicBaseUrl).replace(/\/+$/, '');
  return {
    callbackBaseUrl: (url(env, 'OAUTH_CALLBACK_BASE_URL') ?? publicBaseUrl).replace(/\/+$/, ''),
    dashboardUrl,
    dashboardRedirects: redirectAllowlist(env, 'OAUTH_DASHBOARD_REDIRECTS', isProduction, [dashboardUrl]),
    stateTtlMs: durationMs(env, 'OAUTH_STATE_TTL', '10m'),
    httpTimeoutMs: durationMs(env, 'OAUTH_HTTP_TIMEOUT', '10s'),
    shopify: {
      apiKey: shopify.id,
      apiSecret: shopify.secret,
      adminBaseUrlTemplate: providerUrl(env, 'SHOPIFY_ADMIN_BASE_URL_TEMPLATE', 'https://{shop}/admin', isProduction, '{shop}'),
      apiVersion,
      hmacToleranceMs: durationMs(env, 'SHOPIFY_HMAC_TOLERANCE', '90s'),
    },
    bigcommerce: {
      clientId: bigcommerce.id,
      clientSecret: bigcommerce.secret,
      tokenUrl: providerUrl(env, 'BIGCOMMERCE_TOKEN_URL', 'https://login.bigcommerce.com/oauth2/token', isProduction),
    },
    woocommerce: {
      appName: (read(env, 'WOOCOMMERCE_APP_NAME') ?? 'Retail Analytics').slice(0, 100),
      connectTtlMs: durationMs(env, 'WOOCOMMERCE_CONNECT_TTL', '1h'),
    },
    microsoft: {
      clientId: microsoft.id,
      clientSecret: microsoft.secret,
      authority: msalAuthority(env, isProduction),
      scopes: words(env, 'MICROSOFT_MAIL_SCOPES', 'https://graph.microsoft.com/Mail.Send'),
    },
    google: {
      clientId: google.id,
      clientSecret: google.secret,
      authUrl: providerUrl(env, 'GOOGLE_AUTH_URL', 'https://accounts.google.com/o/oauth2/v2/auth', isProduction),
      tokenUrl: providerUrl(env, 'GOOGLE_TOKEN_URL', 'https://oauth2.googleapis.com/token', isProduction),
      revokeUrl: providerUrl(env, 'GOOGLE_REVOKE_URL', 'https://oauth2.googleapis.com/revoke', isProduction),
      userinfoUrl: providerUrl(env, 'GOOGLE_USERINFO_URL', 'https://openidconnect.googleapis.com/v1/userinfo', isProduction),
      scopes: words(env, 'GOOGLE_MAIL_SCOPES', 'openid email https://www.googleapis.com/auth/gmail.send'),
    },
  };
}

function atMost(value: number, max: number, variable: string, rule: string): number {
  if (value > max) throw new ConfigError(variable, rule);
  return value;
}

export function deriveKid(secret: Buffer): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 16);
}

function signingKey(secret: string): SigningKey {
  const bytes = Buffer.from(secret, 'utf8');
  return { kid: deriveKid(bytes), secret: bytes };
}

function parseEncryptionKey(raw: string): Buffer {
  const candidates = [/^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : undefined, Buffer.from(raw, 'base64')];
  const key = candidates.find((b) => b?.length === 32);
  if (!key) throw new ConfigError('APP_ENCRYPTION_KEY', 'must be 32 bytes, written as 64 hex characters or base64');
  return key;
}

/**
 * Reads, validates and types the whole configuration from an environment. Without any
 * configuration it describes a development instance: embedded Postgres and generated secrets in
 * `./.data`. `NODE_ENV=production` refuses what is only safe for development.
 */
export function loadAppConfig(env: Env = process.env): AppConfig {
  const nodeEnv = read(env, 'NODE_ENV') ?? 'development';
  const isProduction = nodeEnv === 'production';
  const dataDir = resolve(read(env, 'DATA_DIR') ?? './.data');
  const databaseUrl = url(env, 'DATABASE_URL');

  if (isProduction && !databaseUrl) {
    throw new ConfigError('DATABASE_URL', 'is required in production (the embedded database is for development only)');
  }

  const needsGenerated = [...Object.values(SECRET_VARIABLE), 'APP_ENCRYPTION_KEY'].some((name) => !read(env, name));
  const generated = !isProduction && needsGenerated ? loadOrCreateDevSecrets(dataDir) : {};
  const secretOf = (name: string): string => {
    const value = env[name] !== undefined && env[name] !== '' ? env[name]! : generated[name];
    if (!value) throw new ConfigError(name, 'is required in production');
    return value;
  };

  const keys = {} as Record<TokenType, KeySet>;
  const seen = new Map<string, string>();
  for (const type of TOKEN_TYPES) {
    const name = SECRET_VARIABLE[type];
    const secret = secretOf(name);
    if (isProduction && Buffer.byteLength(secret, 'utf8') < 32) throw new ConfigError(name, 'must be at least 32 bytes');
    const other = seen.get(secret);
    if (other) throw new ConfigError(name, `must differ from ${other} (each token type has its own secret)`);
    seen.set(secret, name);
    const previousName = name.replace('_PRIVATE_KEY', '_PREVIOUS_KEYS');
    keys[type] = { current: signingKey(secret), previous: list(env, previousName).map(signingKey) };
  }

  // The MFA challenge token gets its own key too. The contract names no variable for it, so
  // unless MFA_JWT_PRIVATE_KEY is set it is derived from the retailer secret: a different key,
  // so a challenge token can never verify as an access token.
  const mfaSecret = read(env, 'MFA_JWT_PRIVATE_KEY');
  const fromRetailer = (retailerSecret: Buffer) => createHmac('sha256', retailerSecret).update('mfa-challenge-token').digest();
  const mfaBytes = mfaSecret ? Buffer.from(mfaSecret, 'utf8') : fromRetailer(keys.retailer.current.secret);
  // Derived from the retailer key, the challenge key rotates with it: a sign-in waiting on its
  // second factor during a rotation still completes (previous retailer keys give previous MFA keys).
  const mfaPrevious = mfaSecret
    ? list(env, 'MFA_JWT_PREVIOUS_KEYS').map((k) => Buffer.from(k, 'utf8'))
    : keys.retailer.previous.map((k) => fromRetailer(k.secret));
  keys.mfa = {
    current: { kid: deriveKid(mfaBytes), secret: mfaBytes },
    previous: mfaPrevious.map((secret) => ({ kid: deriveKid(secret), secret })),
  };

  const encryptionRaw = secretOf('APP_ENCRYPTION_KEY');

  const port = integer(env, 'PORT', 3000, 0, 65535);
  const publicBaseUrl = (url(env, 'PUBLIC_BASE_URL') ?? `http://localhost:${port || 3000}`).replace(/\/+$/, '');
  const corsOrigins = list(env, 'CORS_ORIGINS');
  for (const origin of corsOrigins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin !== origin.replace(/\/$/, '')) {
      throw new ConfigError('CORS_ORIGINS', `has "${origin}", which is not an origin like https://app.example.com`);
    }
  }

  const cookieName = read(env, 'RETAILER_ACCESS_TOKEN_COOKIE_NAME') ?? 'retailer_access_token';
  if (!/^[A-Za-z0-9_.-]+$/.test(cookieName)) {
    throw new ConfigError('RETAILER_ACCESS_TOKEN_COOKIE_NAME', 'may use only letters, digits, _ . and -');
  }

  const smtpUrl = url(env, 'SMTP_URL');
  const redisUrl = url(env, 'REDIS_URL');
  const issuer = read(env, 'TOKEN_ISSUER') ?? 'retail-auth';

  return {
    env: nodeEnv,
    isProduction,
    http: {
      port,
      host: read(env, 'HOST') ?? '0.0.0.0',
      publicBaseUrl,
      corsOrigins,
      trustProxy: trustProxy(env, 'TRUST_PROXY'),
      cookieSecure: boolean(env, 'COOKIE_SECURE', true),
      retailerAccessCookieName: cookieName,
      metricsToken: read(env, 'METRICS_TOKEN'),
    },
    database: {
      url: databaseUrl,
      embedded: !databaseUrl,
      dataDir,
      poolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 200),
      connectTimeoutMs: durationMs(env, 'DATABASE_CONNECT_TIMEOUT', '5s'),
    },
    redis: { url: redisUrl, keyPrefix: read(env, 'REDIS_KEY_PREFIX') ?? 'auth:' },
    jwt: { issuer, keys, bridgeAllowedIssuers: list(env, 'BRIDGE_ALLOWED_ISSUERS') },
    encryptionKey: parseEncryptionKey(encryptionRaw),
    auth: {
      accessTokenTtlMs: durationMs(env, 'ACCESS_TOKEN_TTL', '1h'),
      refreshTokenTtlMs: durationMs(env, 'REFRESH_TOKEN_TTL', '30d'),
      sessionIdleTimeoutMs: durationMs(env, 'SESSION_IDLE_TIMEOUT', '24h'),
      refreshReuseGraceMs: integer(env, 'REFRESH_REUSE_GRACE_SECONDS', 10, 0, 3600) * 1000,
      maxSessionsPerUser: integer(env, 'MAX_SESSIONS_PER_USER', 10, 1, 1000),
      loginMaxAttempts: integer(env, 'LOGIN_MAX_ATTEMPTS', 5, 1, 1000),
      lockoutWindowMs: durationMs(env, 'LOCKOUT_WINDOW', '15m'),
      bcryptCost: integer(env, 'BCRYPT_COST', 12, 4, 31),
      passwordHashThreads: integer(env, 'PASSWORD_HASH_THREADS', availableParallelism(), 1, 256),
      passwordHashNice: integer(env, 'PASSWORD_HASH_NICE', 19, 0, 19),
      passwordHashIdlePolicy: boolean(env, 'PASSWORD_HASH_IDLE_POLICY', true),
      passwordMinLength: integer(env, 'PASSWORD_MIN_LENGTH', 12, 1, 72),
      passwordRequireClasses: boolean(env, 'PASSWORD_REQUIRE_CLASSES', false),
      resetLinkTtlMs: durationMs(env, 'RESET_LINK_TTL', '24h'),
      magicLinkTtlMs: durationMs(env, 'MAGIC_LINK_TTL', '15m'),
      inviteTtlMs: durationMs(env, 'INVITE_TTL', '7d'),
      mfaChallengeTtlMs: durationMs(env, 'MFA_CHALLENGE_TTL', '5m'),
      emailOtpTtlMs: durationMs(env, 'EMAIL_OTP_TTL', '10m'),
      totpIssuer: read(env, 'TOTP_ISSUER') ?? 'Retail Analytics',
      apiKeyRotationGraceMs: durationMs(env, 'API_KEY_ROTATION_GRACE', '24h'),
      apiKeyDefaultExpiryDays: integer(env, 'API_KEY_DEFAULT_EXPIRY_DAYS', 90, 1, 3650),
      portalCodeTtlMs: durationMs(env, 'PORTAL_CODE_TTL', '60s'),
      impersonationTtlMs: atMost(durationMs(env, 'IMPERSONATION_TTL', '1h'), 3_600_000, 'IMPERSONATION_TTL', 'at most 1h'),
    },
    rateLimits: {
      loginPerIp: rate(env, 'RATE_LIMIT_LOGIN_IP', '100/15m'),
      registerPerIp: rate(env, 'RATE_LIMIT_REGISTER_IP', '20/1h'),
      forgotPerIp: rate(env, 'RATE_LIMIT_FORGOT_IP', '20/15m'),
      forgotPerEmail: rate(env, 'RATE_LIMIT_FORGOT_EMAIL', '5/1h'),
      magicLinkPerIp: rate(env, 'RATE_LIMIT_MAGIC_LINK_IP', '20/15m'),
      magicLinkPerEmail: rate(env, 'RATE_LIMIT_MAGIC_LINK_EMAIL', '5/15m'),
      mfaPerIp: rate(env, 'RATE_LIMIT_MFA_IP', '50/15m'),
      otpSendPerEmail: rate(env, 'RATE_LIMIT_OTP_SEND_EMAIL', '5/15m'),
      portalExchangePerIp: rate(env, 'RATE_LIMIT_PORTAL_EXCHANGE_IP', '60/1m'),
      oauthInstallPerIp: rate(env, 'RATE_LIMIT_OAUTH_INSTALL_IP', '30/1m'),
      ssoStartPerIp: rate(env, 'RATE_LIMIT_SSO_START_IP', '30/1m'),
      ssoVerifyPerIp: rate(env, 'RATE_LIMIT_SSO_VERIFY_IP', '10/1m'),
    },
    mail: {
      smtpUrl,
      from: read(env, 'MAIL_FROM') ?? 'Retail Auth <no-reply@localhost>',
      pollIntervalMs: durationMs(env, 'MAIL_POLL_INTERVAL', '1s'),
    },
    sso: loadSsoConfig(env, isProduction),
    oauth: loadOAuthConfig(env, publicBaseUrl, isProduction),
    log: { level: read(env, 'LOG_LEVEL') ?? (nodeEnv === 'test' ? 'warn' : 'info') },
  };
}

/** A one-line description of where the instance keeps its state, safe to log. */
export function describeConfig(config: AppConfig): string {
  const db = config.database.url ? redactUrl(config.database.url) : `embedded PGlite in ${config.database.dataDir}`;
  const redis = config.redis.url ? redactUrl(config.redis.url) : 'none (single-instance mode)';
  const mail = config.mail.smtpUrl ? redactUrl(config.mail.smtpUrl) : 'printed to the log';
  return `env=${config.env} database=${db} redis=${redis} mail=${mail}`;
}
