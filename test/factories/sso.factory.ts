import request, { Response } from 'supertest';
import type { DnsStandIn } from '../support/dns-stand-in';
import type { OidcStandIn, ProviderIdentity, SignInPlan } from '../support/oidc-provider';
import type { TestInstance } from '../support/test-app';

/** Where the dashboard wants to land after an SSO sign-in (in SSO_ALLOWED_REDIRECTS of the SSO suites). */
export const SSO_REDIRECT = 'http://dashboard.test/sso/done';
export const SSO_OTHER_REDIRECT = 'http://dashboard.test/app?tab=home';
export const SSO_CALLBACK_ORIGIN = 'http://api.test';

export const ssoClient = (provider: string) => ({ id: `${provider}-client-id`, secret: `${provider}-client-secret-0123456789` });

/** The SSO part of an instance's env: the three stand-ins, their clients, the allowlist. */
export function ssoEnv(providers: Record<'google' | 'microsoft' | 'okta', OidcStandIn>, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    SSO_ALLOWED_REDIRECTS: `${SSO_REDIRECT},${SSO_OTHER_REDIRECT}`,
    SSO_ALLOW_INSECURE_ISSUERS: 'true',
    OAUTH_CALLBACK_BASE_URL: SSO_CALLBACK_ORIGIN,
    OAUTH_HTTP_TIMEOUT: '1s',
    SSO_GOOGLE_ISSUER: providers.google.issuerUrl,
    SSO_OKTA_ISSUER: providers.okta.issuerUrl,
    // Microsoft keeps its default issuer (https://login.microsoftonline.com/organizations/v2.0),
    // which the suites route to the stand-in (routeFetch).
  };
  for (const name of ['google', 'microsoft', 'okta']) {
    env[`SSO_${name.toUpperCase()}_CLIENT_ID`] = ssoClient(name).id;
    env[`SSO_${name.toUpperCase()}_CLIENT_SECRET`] = ssoClient(name).secret;
  }
  return { ...env, ...extra };
}

export interface StartedSignIn {
  res: Response;
  /** The provider's authorize URL the browser is sent to. */
  authorizeUrl: URL;
  state: string;
  /** The sign-in's HttpOnly binding cookie, `sso_browser_<tag>=<value>`, as a Cookie header sends it. */
  browserCookie: string;
  setCookies: string[];
}

/**
 * GET /auth/sso/:provider/start as a browser (sending `cookieHeader`, the cookies of earlier
 * starts, if given); fails the test unless it is a 302 with the sign-in's cookie.
 */
export async function startSignIn(instance: TestInstance, provider: string, redirect = SSO_REDIRECT, cookieHeader?: string): Promise<StartedSignIn> {
  const req = request(instance.http).get(`/api/v1/auth/sso/${provider}/start`).query({ redirect });
  const res = await (cookieHeader ? req.set('Cookie', cookieHeader) : req);
  expect({ status: res.status, error: res.body?.error }).toEqual({ status: 302, error: undefined });
  const setCookies = [res.headers['set-cookie'] ?? []].flat() as string[];
  const authorizeUrl = new URL(res.headers.location as string);
  const binding = setCookies.find((c) => /^sso_browser_[0-9a-f]{16}=[^;]/.test(c));
  expect(binding).toBeDefined();
  return { res, authorizeUrl, state: authorizeUrl.searchParams.get('state')!, browserCookie: binding!.split(';')[0], setCookies };
}

/** The user signs in at the provider: the callback path (with code and state) it sends the browser back to. */
export async function approveAtProvider(authorizeUrl: URL): Promise<string> {
  const res = await fetch(authorizeUrl, { redirect: 'manual' });
  expect(res.status).toBe(302);
  const back = new URL(res.headers.get('location')!);
  expect(back.origin).toBe(SSO_CALLBACK_ORIGIN);
  return `${back.pathname}${back.search}`;
}

/** GET the callback as a browser sending `cookieHeader` (a sign-in's `browserCookie`, several joined by `; `, or none). */
export function callback(instance: TestInstance, path: string, cookieHeader?: string): Promise<Response> {
  const req = request(instance.http).get(path);
  return cookieHeader ? req.set('Cookie', cookieHeader) : req;
}

export interface SignInOutcome {
  started: StartedSignIn;
  callbackPath: string;
  res: Response;
  /** Where the callback sent the browser, without its fragment. */
  landing?: string;
  /** The fragment's parameters: `error`/`message`, or `mfaToken`/`methods`, or nothing. */
  fragment: Record<string, string>;
  cookies: string[];
}

/** The Location of a callback answer split into the page and its fragment parameters. */
export function landingOf(res: Response): { landing?: string; fragment: Record<string, string> } {
  const location = res.headers.location as string | undefined;
  if (!location) return { fragment: {} };
  const at = location.indexOf('#');
  return at === -1 ? { landing: location, fragment: {} } : { landing: location.slice(0, at), fragment: Object.fromEntries(new URLSearchParams(location.slice(at + 1))) };
}

/** A whole sign-in as a browser: start, the provider (who says `plan`), the callback. */
export async function ssoSignIn(instance: TestInstance, standIn: OidcStandIn, provider: string, plan: SignInPlan | ProviderIdentity, redirect = SSO_REDIRECT): Promise<SignInOutcome> {
  standIn.nextSignIn(plan);
  const started = await startSignIn(instance, provider, redirect);
  const callbackPath = await approveAtProvider(started.authorizeUrl);
  const res = await callback(instance, callbackPath, started.browserCookie);
  return { started, callbackPath, res, ...landingOf(res), cookies: [res.headers['set-cookie'] ?? []].flat() as string[] };
}

/** PUT /settings/security/sso as the holder of `token`; fails the test unless it is a 200. */
export async function putSsoSettings(instance: TestInstance, token: string, body: object): Promise<any> {
  const res = await request(instance.http).put('/api/v1/settings/security/sso').set('Authorization', `Bearer ${token}`).send(body);
  expect({ status: res.status, error: res.body?.error }).toEqual({ status: 200, error: undefined });
  return res.body.data;
}

/** POST /settings/security/sso/domains/:domain/verify as the holder of `token`. */
export function verifySsoDomain(instance: TestInstance, token: string, domain: string): Promise<Response> {
  return request(instance.http).post(`/api/v1/settings/security/sso/domains/${encodeURIComponent(domain)}/verify`).set('Authorization', `Bearer ${token}`);
}

/**
 * The whole way to a just-in-time domain, as a retailer does it: adds `domain` (with `role`) to
 * the retailer's list, publishes the TXT record the answer asks for on `dns` (the stand-in the
 * instance resolves with), and has it verified. Fails the test unless the domain ends up verified.
 */
export async function claimVerifiedDomain(instance: TestInstance, dns: DnsStandIn, token: string, domain: string, role = 'viewer'): Promise<void> {
  const current = await request(instance.http).get('/api/v1/settings/security/sso').set('Authorization', `Bearer ${token}`);
  expect(current.status).toBe(200);
  const others = (current.body.data.jitDomains as Array<{ domain: string; role: string }>).filter((d) => d.domain !== domain).map((d) => ({ domain: d.domain, role: d.role }));
  const settings = await putSsoSettings(instance, token, { trustProviderMfa: current.body.data.trustProviderMfa, jitDomains: [...others, { domain, role }] });
  const { verification } = settings.jitDomains.find((d: { domain: string }) => d.domain === domain);
  dns.publishTxt(verification.name, verification.value);
  const verified = await verifySsoDomain(instance, token, domain);
  expect({ status: verified.status, error: verified.body?.error }).toEqual({ status: 200, error: undefined });
  expect(verified.body.data.jitDomains.find((d: { domain: string }) => d.domain === domain)).toMatchObject({ status: 'verified', role });
}
