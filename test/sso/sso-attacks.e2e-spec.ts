import { createHash } from 'node:crypto';
import { encryptSecret } from '@app/common/crypto';
import { getDataSourceToken } from '@nestjs/typeorm';
import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { cookieValue, login, registerOwner, RegisteredOwner } from '../factories/retailer.factory';
import { approveAtProvider, callback, claimVerifiedDomain, landingOf, ssoEnv, ssoSignIn, SSO_REDIRECT, startSignIn } from '../factories/sso.factory';
import { DnsStandIn } from '../support/dns-stand-in';
import { DEFAULT_TENANT, MICROSOFT_ORIGIN, OidcStandIn, routeFetch, SignInPlan, startProviders } from '../support/oidc-provider';
import { isolatedLimits, startInstance, TestInstance } from '../support/test-app';

/**
 * Every attack of the issue on the SSO sign-in, each refused with its contract code, audit-logged
 * with the provider and the reason, and leaving nothing behind (no session, no account, the
 * provider's tokens nowhere). Failures before the state is proven answer the JSON error; after
 * it, the browser goes back to the redirect with `#error=<CODE>` (docs/sso.md).
 */

let providers: Record<'google' | 'microsoft' | 'okta', OidcStandIn>;
let dns: DnsStandIn;
let unroute: () => void;
let a: TestInstance;
let db: DataSource;
let member: RegisteredOwner;
let jitDomain: string;

beforeAll(async () => {
  providers = await startProviders();
  dns = await DnsStandIn.start();
  unroute = routeFetch({ [MICROSOFT_ORIGIN]: providers.microsoft.base });
  a = await startInstance({ env: ssoEnv(providers, { RATE_LIMIT_REGISTER_IP: '1000/1h', RATE_LIMIT_LOGIN_IP: '1000/15m', ...dns.env() }) });
  db = a.app.get<DataSource>(getDataSourceToken());
  member = await registerOwner(a);
  // A verified just-in-time domain, so "nothing stored" also means "no account created".
  jitDomain = `jit-${Math.random().toString(36).slice(2, 8)}.example`;
  await claimVerifiedDomain(a, dns, (await login(a, member.email)).token, jitDomain);
});

afterAll(async () => {
  await a?.close();
  unroute?.();
  await Promise.all(Object.values(providers ?? {}).map((p) => p.stop()));
  await dns?.stop();
});

const sessionCount = async (userId: string): Promise<number> => (await db.query(`SELECT count(*)::int AS n FROM sessions WHERE user_id = $1`, [userId]))[0].n;
const usersWithEmail = async (email: string): Promise<number> => (await db.query(`SELECT count(*)::int AS n FROM users WHERE email = $1`, [email]))[0].n;
const sha256Hex = (v: string) => createHash('sha256').update(v).digest('hex');
const stateRow = async (state: string): Promise<any> => (await db.query(`SELECT * FROM one_time_tokens WHERE token_hash = $1`, [createHash('sha256').update(state).digest('hex')]))[0];

/** The one `login_failure` row of a request. */
async function failureRow(res: Response): Promise<any> {
  const rows = await db.query(`SELECT * FROM audit_logs WHERE request_id = $1 AND event = 'login_failure'`, [res.headers['x-request-id']]);
  expect(rows).toHaveLength(1);
  return rows[0];
}

/** The answer is the JSON error envelope (no redirect, no session cookie). */
function expectJsonError(res: Response, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.error?.code, location: res.headers.location }).toEqual({ status, code, location: undefined });
  expect(cookieValue([res.headers['set-cookie'] ?? []].flat() as string[], 'retailer_access_token')).toBeUndefined();
}

/** The browser went back to the redirect with this error in the fragment, and got no session cookie. */
function expectRedirectError(res: Response, code: string): Record<string, string> {
  const { landing, fragment } = landingOf(res);
  expect({ status: res.status, landing, error: fragment.error }).toEqual({ status: 302, landing: SSO_REDIRECT, error: code });
  expect(fragment.message).toEqual(expect.any(String));
  expect(res.headers['referrer-policy']).toBe('no-referrer');
  expect(cookieValue([res.headers['set-cookie'] ?? []].flat() as string[], 'retailer_access_token')).toBeUndefined();
  return fragment;
}

/**
 * A sign-in of the member (or of a newcomer of the JIT domain) where the provider misbehaves as
 * `plan` says: the contract code on the dashboard, the audit row, and nothing stored.
 */
async function expectRefusedSignIn(provider: 'google' | 'microsoft' | 'okta', plan: Omit<SignInPlan, 'identity'> & { identity?: SignInPlan['identity'] }, code: string, detail: RegExp | string) {
  const newcomer = `new.${Math.random().toString(36).slice(2, 8)}@${jitDomain}`;
  const verified = provider === 'microsoft' ? { xms_edov: true, tid: DEFAULT_TENANT } : { email_verified: true };
  const identity = plan.identity ?? { sub: `sub-${provider}`, email: newcomer, ...verified };
  const before = await sessionCount(member.userId);
  const outcome = await ssoSignIn(a, providers[provider], provider, { ...plan, identity });
  expectRedirectError(outcome.res, code);
  const row = await failureRow(outcome.res);
  expect(row).toMatchObject({ reason: code, status: 'failure' });
  expect(row.metadata).toMatchObject({ method: 'sso', provider, stage: 'callback', detail: expect.stringMatching(detail) });
  expect(JSON.stringify(row)).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
  expect(await sessionCount(member.userId)).toBe(before);
  // No account appears: the member is still the only one with its email, a newcomer has none.
  if (typeof identity.email === 'string') expect(await usersWithEmail(identity.email)).toBe(identity.email === member.email ? 1 : 0);
  // The state is spent either way: the same callback cannot be tried again.
  expect((await stateRow(outcome.started.state)).used_at).not.toBeNull();
  return outcome;
}

describe('state', () => {
  it("refuses a callback with another browser's state (401 TOKEN_INVALID), and the rightful browser can still finish", async () => {
    providers.google.nextSignIn({ email: member.email, email_verified: true });
    const victim = await startSignIn(a, 'google');
    const callbackPath = await approveAtProvider(victim.authorizeUrl);
    const attacker = await startSignIn(a, 'google');
    const before = await sessionCount(member.userId);

    const foreign = await callback(a, callbackPath, attacker.browserCookie);
    expectJsonError(foreign, 401, 'TOKEN_INVALID');
    expect(foreign.headers['referrer-policy']).toBe('no-referrer');
    expect((await failureRow(foreign)).metadata).toMatchObject({ method: 'sso', provider: 'google', detail: 'state_other_browser' });
    const cookieless = await callback(a, callbackPath);
    expectJsonError(cookieless, 401, 'TOKEN_INVALID');
    expect((await failureRow(cookieless)).metadata.detail).toBe('state_other_browser');
    expect(await sessionCount(member.userId)).toBe(before);
    expect((await stateRow(victim.state)).used_at).toBeNull();

    const rightful = await callback(a, callbackPath, victim.browserCookie);
    expect(landingOf(rightful)).toEqual({ landing: SSO_REDIRECT, fragment: {} });
    expect(await sessionCount(member.userId)).toBe(before + 1);
  });

  it('lets sign-ins started in several tabs each finish, and keeps the cookies of the five newest', async () => {
    // One browser's cookies for the provider's routes (its SSO bindings), kept as a browser keeps them.
    const jar = new Map<string, string>();
    const keep = (res: Response) => {
      for (const line of [res.headers['set-cookie'] ?? []].flat() as string[]) {
        const [pair] = line.split(';');
        const name = pair.slice(0, pair.indexOf('='));
        if (!name.startsWith('sso_browser_')) continue; // the session cookies live on other paths
        if (/Expires=Thu, 01 Jan 1970/.test(line)) jar.delete(name);
        else jar.set(name, pair.slice(name.length + 1));
      }
    };
    const header = () => [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const tabs = [];
    for (let i = 0; i < 6; i++) {
      const tab = await startSignIn(a, 'google', SSO_REDIRECT, jar.size ? header() : undefined);
      keep(tab.res);
      tabs.push(tab);
    }
    expect([...jar.keys()]).toEqual(tabs.slice(1).map((t) => t.browserCookie.split('=')[0])); // the first tab's was dropped
    const before = await sessionCount(member.userId);

    // The second tab finishes first, then the last: each answer touches its own cookie only.
    providers.google.nextSignIn({ email: member.email, email_verified: true });
    const second = await callback(a, await approveAtProvider(tabs[1].authorizeUrl), header());
    expect(landingOf(second)).toEqual({ landing: SSO_REDIRECT, fragment: {} });
    keep(second);
    expect(jar.size).toBe(4);
    providers.google.nextSignIn({ email: member.email, email_verified: true });
    const last = await callback(a, await approveAtProvider(tabs[5].authorizeUrl), header());
    expect(landingOf(last)).toEqual({ landing: SSO_REDIRECT, fragment: {} });
    keep(last);
    expect(await sessionCount(member.userId)).toBe(before + 2);

    // The first tab's cookie was dropped by the sixth start: its callback is another browser's.
    providers.google.nextSignIn({ email: member.email, email_verified: true });
    const oldest = await callback(a, await approveAtProvider(tabs[0].authorizeUrl), header());
    expectJsonError(oldest, 401, 'TOKEN_INVALID');
    expect((await failureRow(oldest)).metadata.detail).toBe('state_other_browser');
    expect(await sessionCount(member.userId)).toBe(before + 2);

    // Tabs racing: a start and another tab's callback at once, each sent the same cookies.
    const third = tabs[2];
    const [raced] = await Promise.all([
      (async () => {
        providers.google.nextSignIn({ email: member.email, email_verified: true });
        return callback(a, await approveAtProvider(third.authorizeUrl), header());
      })(),
      startSignIn(a, 'google', SSO_REDIRECT, header()).then((tab) => keep(tab.res)),
    ]);
    expect(landingOf(raced)).toEqual({ landing: SSO_REDIRECT, fragment: {} });
    keep(raced);
    expect(jar.size).toBe(3); // tabs 3 and 4 (5 and 2 finished), plus the new one
  });

  it('refuses a replayed state (401 TOKEN_INVALID): one sign-in, one session', async () => {
    const first = await ssoSignIn(a, providers.okta, 'okta', { email: member.email, email_verified: true });
    expect(first.fragment).toEqual({});
    const sessions = await sessionCount(member.userId);
    const exchanges = providers.okta.tokenRequests.length;

    const replay = await callback(a, first.callbackPath, first.started.browserCookie);
    expectJsonError(replay, 401, 'TOKEN_INVALID');
    expect((await failureRow(replay)).metadata).toMatchObject({ provider: 'okta', detail: 'state_unknown_used_or_expired' });
    expect(await sessionCount(member.userId)).toBe(sessions);
    expect(providers.okta.tokenRequests.length).toBe(exchanges);
  });

  it('refuses a state of another provider, an unknown state and a missing one', async () => {
    providers.google.nextSignIn({ email: member.email, email_verified: true });
    const google = await startSignIn(a, 'google');
    const path = await approveAtProvider(google.authorizeUrl);
    const crossed = await callback(a, path.replace('/sso/google/', '/sso/okta/'), google.browserCookie);
    expectJsonError(crossed, 401, 'TOKEN_INVALID');
    expect((await failureRow(crossed)).metadata).toMatchObject({ provider: 'okta', detail: 'state_other_provider' });

    const unknown = await callback(a, '/api/v1/auth/sso/google/callback?code=abc&state=not-a-state-we-issued', google.browserCookie);
    expectJsonError(unknown, 401, 'TOKEN_INVALID');
    const missing = await callback(a, '/api/v1/auth/sso/google/callback?code=abc', google.browserCookie);
    expectJsonError(missing, 401, 'TOKEN_INVALID');
    expect((await failureRow(missing)).metadata.detail).toBe('state_missing');
  });

  it('refuses an expired state (401 TOKEN_INVALID)', async () => {
    providers.google.nextSignIn({ email: member.email, email_verified: true });
    const started = await startSignIn(a, 'google');
    const path = await approveAtProvider(started.authorizeUrl);
    await db.query(`UPDATE one_time_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, [createHash('sha256').update(started.state).digest('hex')]);
    expectJsonError(await callback(a, path, started.browserCookie), 401, 'TOKEN_INVALID');
  });

  it('refuses a sign-in whose PKCE verifier is missing, without ever calling the provider (401 TOKEN_INVALID)', async () => {
    providers.google.nextSignIn({ email: member.email, email_verified: true });
    const started = await startSignIn(a, 'google');
    const path = await approveAtProvider(started.authorizeUrl);
    await db.query(`UPDATE one_time_tokens SET metadata = metadata - 'verifier' WHERE token_hash = $1`, [createHash('sha256').update(started.state).digest('hex')]);
    const exchanges = providers.google.tokenRequests.length;
    const before = await sessionCount(member.userId);

    const res = await callback(a, path, started.browserCookie);
    expectRedirectError(res, 'TOKEN_INVALID');
    expect((await failureRow(res)).metadata).toMatchObject({ provider: 'google', detail: 'pkce_verifier_missing' });
    expect(providers.google.tokenRequests.length).toBe(exchanges);
    expect(await sessionCount(member.userId)).toBe(before);
  });

  it("refuses a verifier moved over from another sign-in: sealed to its own state, it does not open (401 TOKEN_INVALID)", async () => {
    providers.google.nextSignIn({ email: member.email, email_verified: true });
    const mine = await startSignIn(a, 'google');
    const path = await approveAtProvider(mine.authorizeUrl);
    const other = await startSignIn(a, 'google');
    const [otherRow] = await db.query(`SELECT metadata FROM one_time_tokens WHERE token_hash = $1`, [sha256Hex(other.state)]);
    await db.query(`UPDATE one_time_tokens SET metadata = jsonb_set(metadata, '{verifier}', to_jsonb($2::text)) WHERE token_hash = $1`, [sha256Hex(mine.state), otherRow.metadata.verifier]);
    const res = await callback(a, path, mine.browserCookie);
    expectRedirectError(res, 'TOKEN_INVALID');
    expect((await failureRow(res)).metadata.detail).toBe('pkce_verifier_missing');
  });

  it('the provider refuses a code redeemed with a verifier that does not match its challenge (401 TOKEN_INVALID)', async () => {
    providers.google.nextSignIn({ email: member.email, email_verified: true });
    const started = await startSignIn(a, 'google');
    const path = await approveAtProvider(started.authorizeUrl);
    // A well-formed verifier, sealed as the service seals them, that is not the one behind the challenge.
    const wrong = encryptSecret(a.config.encryptionKey, 'w'.repeat(43), `sso_state:${sha256Hex(started.state)}`);
    await db.query(`UPDATE one_time_tokens SET metadata = jsonb_set(metadata, '{verifier}', to_jsonb($2::text)) WHERE token_hash = $1`, [sha256Hex(started.state), wrong]);
    const before = await sessionCount(member.userId);
    const res = await callback(a, path, started.browserCookie);
    expectRedirectError(res, 'TOKEN_INVALID');
    // The mock provider's answer to a verifier that does not hash to the challenge.
    expect((await failureRow(res)).metadata.detail).toMatch(/^provider:OAUTH_RESPONSE_BODY_ERROR:400:invalid_request/);
    expect(await sessionCount(member.userId)).toBe(before);
  });
});

describe('ID token', () => {
  it('refuses the wrong audience (401 TOKEN_INVALID)', async () => {
    await expectRefusedSignIn('google', { tamper: (p) => (p.aud = 'some-other-client') }, 'TOKEN_INVALID', /^provider:/);
  });

  it('refuses the wrong issuer (401 TOKEN_INVALID)', async () => {
    await expectRefusedSignIn('okta', { tamper: (p) => (p.iss = 'https://evil.example/oauth2/default') }, 'TOKEN_INVALID', /^provider:/);
  });

  it("refuses a Microsoft token whose issuer is another tenant's than its tid (401 TOKEN_INVALID)", async () => {
    await expectRefusedSignIn('microsoft', { tamper: (p) => (p.iss = `${MICROSOFT_ORIGIN}/00000000-0000-0000-0000-000000000bad/v2.0`) }, 'TOKEN_INVALID', /^provider:/);
  });

  it('refuses the wrong nonce, and a missing one (401 TOKEN_INVALID)', async () => {
    await expectRefusedSignIn('google', { tamper: (p) => (p.nonce = 'a-nonce-of-another-sign-in') }, 'TOKEN_INVALID', /^provider:/);
    await expectRefusedSignIn('google', { tamper: (p) => delete p.nonce }, 'TOKEN_INVALID', /^provider:/);
  });

  it('refuses an expired ID token (401 TOKEN_EXPIRED)', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefusedSignIn('okta', { tamper: (p) => Object.assign(p, { iat: now - 7200, nbf: now - 7200, exp: now - 3600 }) }, 'TOKEN_EXPIRED', /^provider:/);
  });

  it('refuses an ID token signed by a key the provider never published (401 TOKEN_INVALID)', async () => {
    await expectRefusedSignIn('google', { rogueKey: 'same-kid' }, 'TOKEN_INVALID', /^provider:/);
    await expectRefusedSignIn('microsoft', { rogueKey: 'unknown-kid' }, 'TOKEN_INVALID', /^provider:/);
  });
});

describe('email', () => {
  it('refuses an email the provider has not verified (403 FORBIDDEN), even for an existing member', async () => {
    for (const [provider, identity] of [
      ['google', { email: member.email, email_verified: false }],
      ['okta', { email: member.email, email_verified: 'true' }],
      ['google', { email: member.email }],
      // Entra: `email` alone proves nothing (any tenant admin can set it), and neither does preferred_username.
      ['microsoft', { email: member.email, preferred_username: member.email, tid: DEFAULT_TENANT }],
    ] as const) {
      const outcome = await expectRefusedSignIn(provider, { identity: { sub: 'unverified', ...identity } }, 'FORBIDDEN', 'email_not_verified');
      expect((await failureRow(outcome.res)).metadata).toMatchObject({ subject: 'unverified', email: member.email });
    }
  });

  it('refuses an ID token without an email (403 FORBIDDEN)', async () => {
    await expectRefusedSignIn('okta', { identity: { sub: 'no-email', email_verified: true } }, 'FORBIDDEN', 'email_missing');
  });

  it('refuses an email that matches no member and no JIT domain (403 FORBIDDEN), creating nobody', async () => {
    const email = `nobody.${Math.random().toString(36).slice(2, 8)}@elsewhere.example`;
    await expectRefusedSignIn('google', { identity: { sub: 'nobody', email, email_verified: true } }, 'FORBIDDEN', 'no_member');
    expect(await usersWithEmail(email)).toBe(0);
  });
});

describe('redirect', () => {
  it('refuses a redirect outside SSO_ALLOWED_REDIRECTS before leaving for the provider (400 VALIDATION_FAILED, no state, no cookie)', async () => {
    const statesFor = async (redirect: string) =>
      (await db.query(`SELECT count(*)::int AS n FROM one_time_tokens WHERE purpose = 'sso_state' AND metadata->>'redirect' = $1`, [redirect]))[0].n;
    const authorizes = providers.google.authorizeRequests.length;
    for (const redirect of [
      'https://evil.example/sso/done',
      `${SSO_REDIRECT}/`,
      `${SSO_REDIRECT}?next=https://evil.example`,
      `${SSO_REDIRECT}#x`,
      'http://dashboard.test.evil.example/sso/done',
      'HTTP://DASHBOARD.TEST/sso/done',
      '//evil.example',
      '',
    ]) {
      const res = await request(a.http).get('/api/v1/auth/sso/google/start').query({ redirect });
      expectJsonError(res, 400, 'VALIDATION_FAILED');
      expect(res.body.error.details).toEqual([expect.objectContaining({ field: 'redirect' })]);
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(await statesFor(redirect)).toBe(0);
      const row = await failureRow(res);
      expect(row).toMatchObject({ reason: 'VALIDATION_FAILED' });
      expect(row.metadata).toMatchObject({ method: 'sso', provider: 'google', stage: 'start', detail: 'redirect_not_allowed' });
    }
    const missing = await request(a.http).get('/api/v1/auth/sso/google/start');
    expectJsonError(missing, 400, 'VALIDATION_FAILED');
    const repeated = await request(a.http).get(`/api/v1/auth/sso/google/start?redirect=${encodeURIComponent(SSO_REDIRECT)}&redirect=${encodeURIComponent(SSO_REDIRECT)}`);
    expectJsonError(repeated, 400, 'VALIDATION_FAILED');
    expect(providers.google.authorizeRequests.length).toBe(authorizes);
  });
});

describe('provider failures', () => {
  it('a token endpoint that fails (HTTP 500) is 503 SERVICE_UNAVAILABLE, nothing stored', async () => {
    const outcome = await expectRefusedSignIn('google', { tokenError: { status: 500, error: 'server_error' } }, 'SERVICE_UNAVAILABLE', /^provider:/);
    expect(outcome.fragment.message).toMatch(/Google .*Nothing was stored/);
  });

  it('a token endpoint that refuses the code (invalid_grant) is 401 TOKEN_INVALID', async () => {
    await expectRefusedSignIn('okta', { tokenError: { status: 400, error: 'invalid_grant' } }, 'TOKEN_INVALID', /^provider:.*invalid_grant/);
  });

  it('a token endpoint that hangs is abandoned after OAUTH_HTTP_TIMEOUT (1 s here): 503 SERVICE_UNAVAILABLE, nothing stored', async () => {
    providers.microsoft.hangTokenEndpoint = true;
    try {
      const began = Date.now();
      const outcome = await expectRefusedSignIn('microsoft', {}, 'SERVICE_UNAVAILABLE', /^provider:.*TIMEOUT/);
      const tookMs = Date.now() - began;
      expect(tookMs).toBeGreaterThanOrEqual(1000);
      expect(tookMs).toBeLessThan(5000);
      expect(outcome.fragment.message).toMatch(/did not answer .* in time/);
    } finally {
      providers.microsoft.releaseHeld();
    }
  });

  it('the user declining at the provider (?error=access_denied) is 403 FORBIDDEN', async () => {
    const started = await startSignIn(a, 'google');
    const res = await callback(a, `/api/v1/auth/sso/google/callback?error=access_denied&state=${started.state}`, started.browserCookie);
    expectRedirectError(res, 'FORBIDDEN');
    expect((await failureRow(res)).metadata.detail).toMatch(/access_denied/);
  });
});

describe('logs', () => {
  it('logs each refusal with the request id, address and reason, never the code, the state or a token', async () => {
    const outcome = await ssoSignIn(a, providers.google, 'google', { identity: { email: member.email, email_verified: true }, tamper: (p) => (p.aud = 'x') });
    expect(outcome.fragment.error).toBe('TOKEN_INVALID');
    const requestId = outcome.res.headers['x-request-id'];
    const refusal = a.logs.records().find((r) => r.requestId === requestId && r.msg === 'request refused');
    expect(refusal).toMatchObject({ reason: 'TOKEN_INVALID', ip: '127.0.0.1', path: '/api/v1/auth/sso/google/callback', provider: 'google' });
    const code = new URLSearchParams(outcome.callbackPath.split('?')[1]).get('code')!;
    expect(a.logs.text).not.toContain(code);
    expect(a.logs.text).not.toContain(outcome.started.state);
    expect(a.logs.text).not.toContain(outcome.started.browserCookie);
    expect(a.logs.text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
  });
});

describe('rate limit', () => {
  it('limits starts per address (429 TOO_MANY_ATTEMPTS with Retry-After), storing no state beyond it', async () => {
    // A redirect of this instance's own, so its state rows can be counted while other suites run.
    const redirect = `http://dashboard.test/rate-limited-${Math.random().toString(36).slice(2, 8)}`;
    const statesFor = async () => (await db.query(`SELECT count(*)::int AS n FROM one_time_tokens WHERE purpose = 'sso_state' AND metadata->>'redirect' = $1`, [redirect]))[0].n;
    const b = await startInstance({ env: isolatedLimits(ssoEnv(providers, { RATE_LIMIT_SSO_START_IP: '2/1m', SSO_ALLOWED_REDIRECTS: redirect })) });
    try {
      await startSignIn(b, 'google', redirect);
      await startSignIn(b, 'okta', redirect);
      expect(await statesFor()).toBe(2);
      const res = await request(b.http).get('/api/v1/auth/sso/google/start').query({ redirect });
      expectJsonError(res, 429, 'TOO_MANY_ATTEMPTS');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(await statesFor()).toBe(2);
      expect((await failureRow(res)).reason).toBe('TOO_MANY_ATTEMPTS');
    } finally {
      await b.close();
    }
  });
});
