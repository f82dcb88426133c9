import { createHash } from 'node:crypto';
import { getDataSourceToken } from '@nestjs/typeorm';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { registerOwnerWithTotp, stepWithTimeLeft, totpCodeAt, verifyMfa } from '../factories/mfa.factory';
import { cookieValue, login, registerOwner } from '../factories/retailer.factory';
import { claimVerifiedDomain, ssoClient, ssoEnv, ssoSignIn, SSO_CALLBACK_ORIGIN, SSO_OTHER_REDIRECT, SSO_REDIRECT, startSignIn } from '../factories/sso.factory';
import { DnsStandIn } from '../support/dns-stand-in';
import { DEFAULT_TENANT, MICROSOFT_ORIGIN, OidcStandIn, routeFetch, startProviders } from '../support/oidc-provider';
import { startInstance, TestInstance } from '../support/test-app';

/**
 * SSO sign-in end to end, through each provider the service knows, against local OpenID Connect
 * providers (oauth2-mock-server) with openid-client doing the protocol: an existing member signs
 * in (session, cookies, audit), a member is created only for a retailer's just-in-time domain,
 * and a member with MFA still gets the challenge unless the retailer trusts the provider's MFA.
 */

const sha256b64url = (v: string) => createHash('sha256').update(v).digest('base64url');

let providers: Record<'google' | 'microsoft' | 'okta', OidcStandIn>;
let unroute: () => void;
// Where the instance looks up the TXT records that prove a JIT domain.
let dns: DnsStandIn;
let a: TestInstance;
let db: DataSource;

beforeAll(async () => {
  providers = await startProviders();
  unroute = routeFetch({ [MICROSOFT_ORIGIN]: providers.microsoft.base });
  dns = await DnsStandIn.start();
  a = await startInstance({ env: ssoEnv(providers, { RATE_LIMIT_REGISTER_IP: '1000/1h', RATE_LIMIT_LOGIN_IP: '1000/15m', RATE_LIMIT_MFA_IP: '1000/15m', ...dns.env() }) });
  db = a.app.get<DataSource>(getDataSourceToken());
});

afterAll(async () => {
  await a?.close();
  unroute?.();
  await Promise.all(Object.values(providers ?? {}).map((p) => p.stop()));
  await dns?.stop();
});

const sessionsOf = async (userId: string): Promise<Array<{ auth_method: string }>> => db.query(`SELECT auth_method FROM sessions WHERE user_id = $1 ORDER BY created_at`, [userId]);
const auditOf = (requestId: string, event: string): Promise<any[]> => db.query(`SELECT * FROM audit_logs WHERE request_id = $1 AND event = $2`, [requestId, event]);

function me(token: string) {
  return request(a.http).get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`);
}

async function putSsoSettings(token: string, body: object) {
  const res = await request(a.http).put('/api/v1/settings/security/sso').set('Authorization', `Bearer ${token}`).send(body);
  expect({ status: res.status, error: res.body?.error }).toEqual({ status: 200, error: undefined });
}

const uniqueDomain = (label: string) => `${label}-${Math.random().toString(36).slice(2, 8)}.example`;

describe('SSO start', () => {
  it('sends the browser to the provider with PKCE S256, state, nonce and scopes, and binds the state to the browser', async () => {
    const started = await startSignIn(a, 'google');
    const url = started.authorizeUrl;
    expect(`${url.origin}${url.pathname}`).toBe(`${providers.google.base}/authorize`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: ssoClient('google').id,
      response_type: 'code',
      redirect_uri: `${SSO_CALLBACK_ORIGIN}/api/v1/auth/sso/google/callback`,
      scope: 'openid email profile',
      state: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      nonce: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      code_challenge_method: 'S256',
    });
    expect(started.res.headers['cache-control']).toBe('no-store');

    const cookie = started.setCookies.find((c) => c.startsWith('sso_browser_'))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toContain('Path=/api/v1/auth/sso/google;'); // its start and callback only
    // Named after the state's hash; the value is when it started and the secret.
    const tag = createHash('sha256').update(started.state).digest('hex').slice(0, 16);
    expect(started.browserCookie).toMatch(new RegExp(`^sso_browser_${tag}=[0-9a-z]+\\.[A-Za-z0-9_-]{43}$`));
    // COOKIE_SECURE=false in the suites; with the default the cookie is Secure.
    expect(cookie).not.toMatch(/Secure/i);

    // Stored only hashed, single use, for SSO_STATE_TTL (10 min); the PKCE verifier sealed.
    const [row] = await db.query(`SELECT * FROM one_time_tokens WHERE token_hash = $1`, [createHash('sha256').update(started.state).digest('hex')]);
    expect(row).toMatchObject({ purpose: 'sso_state', used_at: null });
    expect(row.metadata).toMatchObject({ provider: 'google', redirect: SSO_REDIRECT, nonce: url.searchParams.get('nonce'), verifier: expect.stringMatching(/^v1\./) });
    expect(row.metadata.browser).toBe(createHash('sha256').update(started.browserCookie.split('.').pop()!).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(started.state);
    const ttlMs = new Date(row.expires_at).getTime() - Date.now();
    expect(ttlMs).toBeGreaterThan(9 * 60_000);
    expect(ttlMs).toBeLessThanOrEqual(10 * 60_000);
  });

  it('accepts each allowed redirect exactly as listed', async () => {
    const started = await startSignIn(a, 'okta', SSO_OTHER_REDIRECT);
    expect(started.authorizeUrl.origin).toBe(providers.okta.base);
  });
});

describe.each([
  ['google', (email: string) => ({ email, email_verified: true, name: 'Grace Google' })],
  // Entra ID sends no email_verified; its `xms_edov` optional claim vouches for the domain (docs/sso.md).
  ['microsoft', (email: string) => ({ email, xms_edov: true, name: 'Mia Microsoft', tid: DEFAULT_TENANT })],
  ['okta', (email: string) => ({ email, email_verified: true, name: 'Otto Okta' })],
] as const)('sign-in through %s', (provider, claims) => {
  it('signs an existing member in: session cookies, /auth/me, an sso session, an audit row with provider and subject', async () => {
    const owner = await registerOwner(a);
    const subject = `${provider}-subject-${Math.random().toString(36).slice(2, 8)}`;
    // The provider's email differs in case and whitespace from the member's: still the same person.
    const outcome = await ssoSignIn(a, providers[provider], provider, { sub: subject, ...claims(`  ${owner.email.toUpperCase()} `) });

    expect({ status: outcome.res.status, landing: outcome.landing, fragment: outcome.fragment }).toEqual({ status: 302, landing: SSO_REDIRECT, fragment: {} });
    expect(outcome.res.headers['referrer-policy']).toBe('no-referrer');
    const access = cookieValue(outcome.cookies, 'retailer_access_token')!;
    expect(access).toBeTruthy();
    expect(cookieValue(outcome.cookies, 'retailer_refresh_token')).toBeTruthy();
    expect(cookieValue(outcome.cookies, 'csrf_token')).toBeTruthy();
    // The browser cookie is spent with the state.
    expect(outcome.cookies.find((c) => c.startsWith(outcome.started.browserCookie.split('=')[0] + '='))).toMatch(/Expires=Thu, 01 Jan 1970/);

    const who = await me(access);
    expect(who.status).toBe(200);
    expect(who.body.data.user).toMatchObject({ id: owner.userId, email: owner.email });
    expect(who.body.data.role).toBe('owner');
    expect((await sessionsOf(owner.userId)).map((s) => s.auth_method)).toEqual(['sso']);

    const [row] = await auditOf(outcome.res.headers['x-request-id'] as string, 'login_success');
    expect(row).toMatchObject({ actor_id: owner.userId, retailer_id: owner.retailerId, status: 'success' });
    expect(row.metadata).toMatchObject({ method: 'sso', provider, subject });

    // PKCE: the provider got the verifier of the challenge it was shown, from this server's client.
    const token = providers[provider].tokenRequests.at(-1)!;
    expect(token).toMatchObject({ clientId: ssoClient(provider).id, hasClientSecret: true });
    expect(sha256b64url(token.codeVerifier!)).toBe(outcome.started.authorizeUrl.searchParams.get('code_challenge'));
    // Nothing of the provider's tokens is kept anywhere the service stores things.
    expect(JSON.stringify(await db.query(`SELECT * FROM audit_logs WHERE request_id = $1`, [outcome.res.headers['x-request-id']]))).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
  });
});

describe('Microsoft multi-tenant issuer', () => {
  it('uses the real default issuer and checks each ID token against its own tenant', async () => {
    expect(a.config.sso.providers.microsoft.issuer).toBe(`${MICROSOFT_ORIGIN}/organizations/v2.0`);
    const owner = await registerOwner(a);
    const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const outcome = await ssoSignIn(a, providers.microsoft, 'microsoft', { email: owner.email, xms_edov: true, tid: tenant });
    expect({ landing: outcome.landing, fragment: outcome.fragment }).toEqual({ landing: SSO_REDIRECT, fragment: {} });
    expect(outcome.started.authorizeUrl.href.startsWith(`${MICROSOFT_ORIGIN}/organizations/oauth2/v2.0/authorize?`)).toBe(true);
    expect((await sessionsOf(owner.userId)).map((s) => s.auth_method)).toEqual(['sso']);
  });
});

describe('just-in-time provisioning', () => {
  it("creates a member with the domain's role on first sign-in when the retailer turned it on (and proved the domain)", async () => {
    const owner = await registerOwner(a);
    const ownerToken = (await login(a, owner.email)).token;
    const domain = uniqueDomain('jit');
    await claimVerifiedDomain(a, dns, ownerToken, domain, 'analyst');

    const email = `new.person@${domain}`;
    const outcome = await ssoSignIn(a, providers.google, 'google', { sub: 'g-new-person', email: email.toUpperCase(), email_verified: true, name: 'New Person' });
    expect({ landing: outcome.landing, fragment: outcome.fragment }).toEqual({ landing: SSO_REDIRECT, fragment: {} });
    const who = await me(cookieValue(outcome.cookies, 'retailer_access_token')!);
    expect(who.body.data.user).toMatchObject({ email, name: 'New Person' });
    expect(who.body.data.retailer.id).toBe(owner.retailerId);
    expect(who.body.data.role).toBe('analyst');
    const [user] = await db.query(`SELECT * FROM users WHERE email = $1`, [email]);
    expect(user).toMatchObject({ retailer_id: owner.retailerId, role: 'analyst', password_hash: null });
    expect(user.email_verified_at).not.toBeNull();
    const [provisioned] = await auditOf(outcome.res.headers['x-request-id'] as string, 'member_provisioned');
    expect(provisioned).toMatchObject({ actor_id: user.id, retailer_id: owner.retailerId });
    expect(provisioned.metadata).toMatchObject({ provider: 'google', subject: 'g-new-person', domain, role: 'analyst' });

    // The second sign-in finds the member: nobody new.
    const again = await ssoSignIn(a, providers.okta, 'okta', { email, email_verified: true });
    expect(again.fragment).toEqual({});
    expect(await db.query(`SELECT id FROM users WHERE email = $1`, [email])).toHaveLength(1);
  });

  it('creates nobody when no retailer turned it on for the domain (403 FORBIDDEN on the dashboard, audited)', async () => {
    const email = `stranger@${uniqueDomain('nojit')}`;
    const outcome = await ssoSignIn(a, providers.google, 'google', { sub: 'g-stranger', email, email_verified: true });
    expect(outcome.landing).toBe(SSO_REDIRECT);
    expect(outcome.fragment).toMatchObject({ error: 'FORBIDDEN', message: expect.stringContaining('no account') });
    expect(cookieValue(outcome.cookies, 'retailer_access_token')).toBeUndefined();
    expect(await db.query(`SELECT id FROM users WHERE email = $1`, [email])).toHaveLength(0);
    const [row] = await auditOf(outcome.res.headers['x-request-id'] as string, 'login_failure');
    expect(row).toMatchObject({ reason: 'FORBIDDEN', status: 'failure' });
    expect(row.metadata).toMatchObject({ method: 'sso', provider: 'google', detail: 'no_member', subject: 'g-stranger', email });
  });

  it('turned off again (domain removed), the next stranger of that domain gets no account', async () => {
    const owner = await registerOwner(a);
    const ownerToken = (await login(a, owner.email)).token;
    const domain = uniqueDomain('off');
    await claimVerifiedDomain(a, dns, ownerToken, domain);
    await putSsoSettings(ownerToken, { trustProviderMfa: false, jitDomains: [] });
    const outcome = await ssoSignIn(a, providers.google, 'google', { email: `late@${domain}`, email_verified: true });
    expect(outcome.fragment.error).toBe('FORBIDDEN');
    expect(await db.query(`SELECT id FROM users WHERE email = $1`, [`late@${domain}`])).toHaveLength(0);
  });
});

describe('MFA', () => {
  it('a member with MFA gets the challenge in the fragment (no session yet), and POST /auth/mfa/verify completes the sign-in', async () => {
    const step = await stepWithTimeLeft(10);
    const owner = await registerOwnerWithTotp(a, step);
    const before = (await sessionsOf(owner.owner.userId)).length;
    const outcome = await ssoSignIn(a, providers.google, 'google', { sub: 'g-mfa', email: owner.owner.email, email_verified: true });
    expect(outcome.landing).toBe(SSO_REDIRECT);
    expect(outcome.fragment).toEqual({ mfaToken: expect.any(String), methods: 'totp,backup_code', expiresAt: expect.any(String) });
    expect(cookieValue(outcome.cookies, 'retailer_access_token')).toBeUndefined();
    expect(await sessionsOf(owner.owner.userId)).toHaveLength(before);
    const [challenge] = await auditOf(outcome.res.headers['x-request-id'] as string, 'mfa_challenge_started');
    expect(challenge.metadata).toMatchObject({ origin: 'sso', provider: 'google', subject: 'g-mfa' });

    const verified = await verifyMfa(a, { mfaToken: outcome.fragment.mfaToken, method: 'totp', code: await totpCodeAt(owner.secret, step) });
    expect({ status: verified.status, error: verified.body.error }).toEqual({ status: 200, error: undefined });
    expect((await me(verified.body.data.token)).body.data.user.id).toBe(owner.owner.userId);
    expect(await sessionsOf(owner.owner.userId)).toHaveLength(before + 1);
  });

  it.each([
    ['okta', 'a two-factor acr level', { acr: 'urn:okta:loa:2fa:any' }],
    ['okta', 'amr holding mfa', { amr: ['pwd', 'mfa'] }],
  ] as const)("skips this service's factor when the retailer trusts the provider's MFA and the %s token proves it with %s", async (provider, _how, proof) => {
    const owner = await registerOwnerWithTotp(a);
    await putSsoSettings(owner.token, { trustProviderMfa: true, jitDomains: [] });
    const outcome = await ssoSignIn(a, providers[provider], provider, { email: owner.owner.email, email_verified: true, ...proof });
    expect({ landing: outcome.landing, fragment: outcome.fragment }).toEqual({ landing: SSO_REDIRECT, fragment: {} });
    expect((await me(cookieValue(outcome.cookies, 'retailer_access_token')!)).body.data.user.id).toBe(owner.owner.userId);
    expect((await sessionsOf(owner.owner.userId)).at(-1)!.auth_method).toBe('sso');
    const [row] = await auditOf(outcome.res.headers['x-request-id'] as string, 'login_success');
    expect(row.metadata).toMatchObject({ provider, providerMfa: true });
  });

  it.each([
    ['google', 'says nothing of how the user signed in (Google never does)', {}],
    ['microsoft', 'says nothing of how the user signed in (Entra v2.0 ID tokens carry no amr)', {}],
    ['okta', 'says a password alone', { amr: ['pwd'] }],
    ['okta', 'names a one-factor level', { acr: 'urn:okta:loa:1fa:any' }],
    ['okta', 'names a level that may have skipped the second factor', { amr: ['pwd', 'otp'], acr: 'urn:okta:loa:2fa:any:ifpossible' }],
  ] as const)("still challenges a trusting retailer's member when the %s token %s", async (provider, _why, claims) => {
    const owner = await registerOwnerWithTotp(a);
    await putSsoSettings(owner.token, { trustProviderMfa: true, jitDomains: [] });
    const before = (await sessionsOf(owner.owner.userId)).length;
    const outcome = await ssoSignIn(a, providers[provider], provider, { email: owner.owner.email, email_verified: true, ...claims });
    expect(outcome.landing).toBe(SSO_REDIRECT);
    expect(outcome.fragment).toEqual({ mfaToken: expect.any(String), methods: 'totp,backup_code', expiresAt: expect.any(String) });
    expect(cookieValue(outcome.cookies, 'retailer_access_token')).toBeUndefined();
    expect(await sessionsOf(owner.owner.userId)).toHaveLength(before);
  });

  it("does not challenge a member without a factor, whatever the token says", async () => {
    const owner = await registerOwner(a);
    const outcome = await ssoSignIn(a, providers.google, 'google', { email: owner.email, email_verified: true });
    expect({ landing: outcome.landing, fragment: outcome.fragment }).toEqual({ landing: SSO_REDIRECT, fragment: {} });
    expect(cookieValue(outcome.cookies, 'retailer_access_token')).toEqual(expect.any(String));
  });
});

describe('suspension', () => {
  it('a suspended retailer or user is refused with ACCOUNT_SUSPENDED and gets no session', async () => {
    const owner = await registerOwner(a);
    await db.query(`UPDATE retailers SET status = 'suspended', suspended_at = now() WHERE id = $1`, [owner.retailerId]);
    const outcome = await ssoSignIn(a, providers.google, 'google', { email: owner.email, email_verified: true });
    expect(outcome.fragment.error).toBe('ACCOUNT_SUSPENDED');
    expect(await sessionsOf(owner.userId)).toHaveLength(0);
    const [row] = await auditOf(outcome.res.headers['x-request-id'] as string, 'login_failure');
    expect(row).toMatchObject({ reason: 'ACCOUNT_SUSPENDED', actor_id: owner.userId, retailer_id: owner.retailerId });

    const member = await registerOwner(a);
    await db.query(`UPDATE users SET status = 'suspended' WHERE id = $1`, [member.userId]);
    const refused = await ssoSignIn(a, providers.okta, 'okta', { email: member.email, email_verified: true });
    expect(refused.fragment.error).toBe('ACCOUNT_SUSPENDED');
    expect(await sessionsOf(member.userId)).toHaveLength(0);
  });
});

describe('providers', () => {
  it('an unknown provider is 404 NOT_FOUND; a known one without credentials is 503 SERVICE_UNAVAILABLE', async () => {
    const unknown = await request(a.http).get('/api/v1/auth/sso/facebook/start').query({ redirect: SSO_REDIRECT });
    expect({ status: unknown.status, code: unknown.body.error?.code }).toEqual({ status: 404, code: 'NOT_FOUND' });
    const unknownCallback = await request(a.http).get('/api/v1/auth/sso/facebook/callback?code=x&state=y');
    expect({ status: unknownCallback.status, code: unknownCallback.body.error?.code }).toEqual({ status: 404, code: 'NOT_FOUND' });

    const bare = await startInstance({ env: { SSO_ALLOWED_REDIRECTS: SSO_REDIRECT, SSO_OKTA_ISSUER: providers.okta.issuerUrl } });
    try {
      for (const provider of ['google', 'microsoft', 'okta']) {
        const res = await request(bare.http).get(`/api/v1/auth/sso/${provider}/start`).query({ redirect: SSO_REDIRECT });
        expect({ provider, status: res.status, code: res.body.error?.code }).toEqual({ provider, status: 503, code: 'SERVICE_UNAVAILABLE' });
        expect(res.body.error.message).toContain(`SSO_${provider.toUpperCase()}_CLIENT_ID`);
        expect(res.headers['set-cookie']).toBeUndefined();
      }
      // Okta has no default issuer: without SSO_OKTA_ISSUER it is not a provider at all.
      const noOkta = await startInstance({ env: { SSO_ALLOWED_REDIRECTS: SSO_REDIRECT } });
      try {
        expect((await request(noOkta.http).get('/api/v1/auth/sso/okta/start').query({ redirect: SSO_REDIRECT })).status).toBe(404);
      } finally {
        await noOkta.close();
      }
    } finally {
      await bare.close();
    }
  });

  it('another OIDC provider works by configuration alone (SSO_PROVIDERS)', async () => {
    const extra = await new OidcStandIn('okta').start();
    const b = await startInstance({
      env: {
        ...ssoEnv(providers),
        SSO_PROVIDERS: 'acme-idp',
        SSO_ACME_IDP_ISSUER: extra.issuerUrl,
        SSO_ACME_IDP_CLIENT_ID: 'acme-client',
        SSO_ACME_IDP_CLIENT_SECRET: 'acme-secret',
        SSO_ACME_IDP_SCOPES: 'openid email',
      },
    });
    try {
      const owner = await registerOwner(b);
      const outcome = await ssoSignIn(b, extra, 'acme-idp', { email: owner.email, email_verified: true });
      expect(outcome.started.authorizeUrl.searchParams.get('scope')).toBe('openid email');
      expect({ landing: outcome.landing, fragment: outcome.fragment }).toEqual({ landing: SSO_REDIRECT, fragment: {} });
      expect((await me(cookieValue(outcome.cookies, 'retailer_access_token')!)).body.data.user.id).toBe(owner.userId);
    } finally {
      await b.close();
      await extra.stop();
    }
  });
});
