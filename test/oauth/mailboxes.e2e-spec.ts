import { createHash } from 'node:crypto';
import { getDataSourceToken } from '@nestjs/typeorm';
import { hash } from 'bcrypt';
import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { MailboxStateCookie } from '../../apps/api/src/oauth/mailboxes/mailbox-state-cookie';
import { MailboxesService } from '../../apps/api/src/oauth/mailboxes/mailboxes.service';
import { impersonate, signedInAdmin } from '../factories/admin.factory';
import { login, registerOwner, RegisteredOwner, STRONG_PASSWORD, uniqueEmail } from '../factories/retailer.factory';
import { expectError } from '../support/expectations';
import { GoogleStandIn, MicrosoftStandIn, newMailboxUser, type MailboxUser } from '../support/mailbox-providers';
import { startInstance, TEST_SECRETS, TestInstance } from '../support/test-app';
import { MailingInstance, startWithMailbox } from '../support/with-mailbox';

/**
 * Outlook and Gmail mailbox linking against real OAuth providers on loopback (oauth2-mock-server,
 * shaped like Microsoft's identity platform and Google's endpoints), driven by the real MSAL and
 * google-auth-library: the authorize URL, the whole link through the browser's redirects, tokens
 * sealed at rest and refreshable, unlinking, and each attack on the callback refused and
 * audit-logged with nothing stored.
 */

type Provider = 'microsoft' | 'google';
const MS_ID = 'mbx-ms-client';
const MS_SECRET = 'mbx-ms-secret-0123456789abcdef';
const G_ID = 'mbx-google-client.apps.googleusercontent.com';
const G_SECRET = 'mbx-google-secret-0123456789abcdef';
const CALLBACK_ORIGIN = 'http://api.test';
const DASHBOARD = 'http://dashboard.test/app/settings/mailboxes';
/** The other page of OAUTH_DASHBOARD_REDIRECTS a connect may ask to come back to. */
const ONBOARDING = 'http://dashboard.test/app/onboarding?step=mailbox';
const sha256Hex = (v: string) => createHash('sha256').update(v).digest('hex');

let microsoft: MicrosoftStandIn;
let google: GoogleStandIn;
let mailing: MailingInstance;
let a: TestInstance;
let db: DataSource;

const standIn = (provider: Provider) => (provider === 'microsoft' ? microsoft : google);

interface Owner extends RegisteredOwner {
  token: string;
}

async function signedInOwner(): Promise<Owner> {
  const owner = await registerOwner(a);
  return { ...owner, token: (await login(a, owner.email)).token };
}

/** `name=value` of a Set-Cookie list. */
function setCookie(res: Response, name: string): string | undefined {
  const lines = [res.headers['set-cookie'] ?? []].flat() as string[];
  return lines.find((l) => l.startsWith(`${name}=`));
}

interface Started {
  authorizeUrl: URL;
  expiresAt: string;
  /** The browser's state cookie, `name=value`. */
  cookie: string;
  state: string;
}

/** The dashboard's connect call (Bearer), as the browser that will then go to the provider. */
async function connect(provider: Provider, token: string): Promise<Started> {
  const res = await request(a.http).get(`/api/v1/oauth/${provider}/connect`).set('Authorization', `Bearer ${token}`);
  expect({ status: res.status, error: res.body?.error }).toEqual({ status: 200, error: undefined });
  const line = setCookie(res, `mailbox_oauth_${provider}`)!;
  expect(line).toBeDefined();
  const authorizeUrl = new URL(res.body.data.authorizeUrl as string);
  return { authorizeUrl, expiresAt: res.body.data.expiresAt, cookie: line.split(';')[0], state: authorizeUrl.searchParams.get('state')! };
}

/** The browser arriving at our callback (the URL the provider redirected to), with its cookie if any. */
function arrive(location: URL, cookie?: string): Promise<Response> {
  expect(location.origin).toBe(CALLBACK_ORIGIN);
  const req = request(a.http).get(`${location.pathname}${location.search}`);
  return cookie ? req.set('Cookie', cookie) : req;
}

const OUTCOME_PARAMS = ['mailbox', 'status', 'connectionId', 'code', 'reason'];

/**
 * Where the callback sent the browser: `page` (the dashboard unless connect asked for another),
 * with the outcome added to its query; answers that outcome.
 */
function outcome(res: Response, page = DASHBOARD): Record<string, string> {
  expect({ status: res.status, body: res.body?.error }).toEqual({ status: 302, body: undefined });
  const target = new URL(res.headers.location);
  const result: Record<string, string> = {};
  for (const name of OUTCOME_PARAMS) {
    const value = target.searchParams.get(name);
    if (value !== null) result[name] = value;
    target.searchParams.delete(name);
  }
  expect(target.toString()).toBe(page);
  expect(res.headers['referrer-policy']).toBe('no-referrer');
  return result;
}

/** connect → approve at the provider → callback, following the redirects like a browser. */
async function link(provider: Provider, owner: Owner, user: MailboxUser = newMailboxUser()) {
  standIn(provider).user = user;
  const started = await connect(provider, owner.token);
  const location = await standIn(provider).approve(started.authorizeUrl.toString());
  const res = await arrive(location, started.cookie);
  const result = outcome(res);
  expect(result).toMatchObject({ mailbox: provider, status: 'connected' });
  const row = await rowById(result.connectionId);
  return { user, row, res, location, started };
}

const externalIdOf = (provider: Provider, user: MailboxUser) => (provider === 'microsoft' ? microsoft.homeAccountId(user) : user.sub);
const rowById = async (id: string) => (await db.query(`SELECT * FROM oauth_connections WHERE id = $1`, [id]))[0];
const rowsOfUser = (provider: Provider, user: MailboxUser) => db.query(`SELECT * FROM oauth_connections WHERE provider = $1 AND external_id = $2`, [provider, externalIdOf(provider, user)]);
const failures = (retailerId: string) => db.query(`SELECT actor_id, retailer_id, status, reason, metadata FROM audit_logs WHERE event = 'oauth_connect_failed' AND retailer_id = $1 ORDER BY id`, [retailerId]);
const list = (token: string) => request(a.http).get('/api/v1/oauth/connections').set('Authorization', `Bearer ${token}`);

/** No token the provider issued appears anywhere in the row's raw columns. */
function expectNoTokenInClear(provider: Provider, row: Record<string, unknown>): void {
  const raw = JSON.stringify(row);
  for (const token of [...standIn(provider).issuedAccessTokens, ...standIn(provider).issuedRefreshTokens]) expect(raw).not.toContain(token);
  for (const column of ['access_token', 'refresh_token', 'token_cache']) {
    if (row[column] !== null) expect(row[column]).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  }
}

async function member(owner: Owner, role: string): Promise<string> {
  const email = uniqueEmail(role);
  await db.query(`INSERT INTO users (retailer_id, email, name, password_hash, role) VALUES ($1, $2, 'Member', $3, $4)`, [owner.retailerId, email, await hash(STRONG_PASSWORD, 4), role]);
  return (await login(a, email)).token;
}

beforeAll(async () => {
  microsoft = await new MicrosoftStandIn(MS_ID, MS_SECRET).start();
  google = await new GoogleStandIn(G_ID, G_SECRET).start();
  mailing = await startWithMailbox({
    env: {
      RATE_LIMIT_REGISTER_IP: '1000/1h',
      RATE_LIMIT_LOGIN_IP: '1000/15m',
      MICROSOFT_CLIENT_ID: MS_ID,
      MICROSOFT_CLIENT_SECRET: MS_SECRET,
      MICROSOFT_AUTHORITY: microsoft.authority,
      GOOGLE_CLIENT_ID: G_ID,
      GOOGLE_CLIENT_SECRET: G_SECRET,
      ...google.env,
      OAUTH_CALLBACK_BASE_URL: CALLBACK_ORIGIN,
      OAUTH_DASHBOARD_URL: DASHBOARD,
      OAUTH_DASHBOARD_REDIRECTS: `${DASHBOARD},${ONBOARDING}`,
      OAUTH_HTTP_TIMEOUT: '1s',
    },
  });
  a = mailing.instance;
  db = a.app.get<DataSource>(getDataSourceToken());
});

afterAll(async () => {
  await mailing?.close();
  await microsoft?.stop();
  await google?.stop();
});

afterEach(() => {
  for (const s of [microsoft, google]) {
    s.tokenMode = 'ok';
    s.accessTokenTtlSec = 3600;
    s.grantScopes = null;
  }
});

describe('connect: the authorize URL', () => {
  it('Microsoft: the tenant authorize endpoint, offline_access and Mail.Send, PKCE S256, a single-use state bound to the retailer', async () => {
    const owner = await signedInOwner();
    const { authorizeUrl, state, expiresAt } = await connect('microsoft', owner.token);
    expect(`${authorizeUrl.origin}${authorizeUrl.pathname}`).toBe(`${microsoft.authority}/oauth2/v2.0/authorize`);
    const q = authorizeUrl.searchParams;
    expect({
      client_id: q.get('client_id'),
      response_type: q.get('response_type'),
      redirect_uri: q.get('redirect_uri'),
      code_challenge_method: q.get('code_challenge_method'),
      prompt: q.get('prompt'),
    }).toEqual({
      client_id: MS_ID,
      response_type: 'code',
      redirect_uri: `${CALLBACK_ORIGIN}/api/v1/oauth/microsoft/callback`,
      code_challenge_method: 'S256',
      prompt: 'select_account',
    });
    expect(q.get('scope')!.split(' ')).toEqual(expect.arrayContaining(['https://graph.microsoft.com/Mail.Send', 'offline_access', 'openid']));
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Date(expiresAt).getTime()).toBeGreaterThan(Date.now() + 9 * 60_000);
    const [row] = await db.query(`SELECT * FROM one_time_tokens WHERE token_hash = $1`, [sha256Hex(state)]);
    expect(row).toMatchObject({ purpose: 'oauth_state', retailer_id: owner.retailerId, user_id: owner.userId, used_at: null, metadata: { provider: 'microsoft', purpose: 'mailbox' } });
  });

  it('Google: offline access with forced consent, the gmail.send scope, PKCE S256 and a state', async () => {
    const owner = await signedInOwner();
    const { authorizeUrl, state } = await connect('google', owner.token);
    expect(`${authorizeUrl.origin}${authorizeUrl.pathname}`).toBe(`${google.base}/o/oauth2/v2/auth`);
    const q = authorizeUrl.searchParams;
    expect({
      client_id: q.get('client_id'),
      response_type: q.get('response_type'),
      redirect_uri: q.get('redirect_uri'),
      access_type: q.get('access_type'),
      prompt: q.get('prompt'),
      code_challenge_method: q.get('code_challenge_method'),
      state: q.get('state'),
    }).toEqual({
      client_id: G_ID,
      response_type: 'code',
      redirect_uri: `${CALLBACK_ORIGIN}/api/v1/oauth/google/callback`,
      access_type: 'offline',
      prompt: 'consent',
      code_challenge_method: 'S256',
      state,
    });
    expect(q.get('scope')!.split(' ')).toEqual(['openid', 'email', 'https://www.googleapis.com/auth/gmail.send']);
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it.each(['microsoft', 'google'] as const)('%s: the browser-binding cookie is HttpOnly, SameSite=Lax, scoped to the provider routes, and shows neither state nor verifier', async (provider) => {
    const owner = await signedInOwner();
    const res = await request(a.http).get(`/api/v1/oauth/${provider}/connect`).set('Authorization', `Bearer ${owner.token}`);
    const line = setCookie(res, `mailbox_oauth_${provider}`)!;
    expect(line).toMatch(/; HttpOnly/);
    expect(line).toMatch(/; SameSite=Lax/);
    expect(line).toContain(`; Path=/api/v1/oauth/${provider}`);
    const state = new URL(res.body.data.authorizeUrl).searchParams.get('state')!;
    expect(line).not.toContain(state);
    // Two connects, two states.
    expect((await connect(provider, owner.token)).state).not.toBe(state);
  });
});

describe.each(['microsoft', 'google'] as const)('%s mailbox', (provider) => {
  it('links through the browser redirects: sealed tokens, the connection listed without any token, audit-logged', async () => {
    const owner = await signedInOwner();
    const { user, row, res } = await link(provider, owner);
    // The state cookie is cleared once spent.
    expect(setCookie(res, `mailbox_oauth_${provider}`)).toMatch(/Expires=Thu, 01 Jan 1970/);
    expect(row).toMatchObject({ retailer_id: owner.retailerId, user_id: owner.userId, provider, external_id: externalIdOf(provider, user), status: 'active' });
    expect(row.metadata).toMatchObject({ email: user.email, origin: 'dashboard' });
    expect(row.token_expires_at).not.toBeNull();
    if (provider === 'microsoft') {
      expect(row.scopes).toEqual(expect.arrayContaining(['https://graph.microsoft.com/Mail.Send']));
      // MSAL's cache (with the refresh token inside) is the only copy of the tokens.
      expect({ access: row.access_token, refresh: row.refresh_token, cache: row.token_cache !== null }).toEqual({ access: null, refresh: null, cache: true });
    } else {
      expect(row.scopes).toEqual(['openid', 'email', 'https://www.googleapis.com/auth/gmail.send']);
      expect({ access: row.access_token !== null, refresh: row.refresh_token !== null, cache: row.token_cache }).toEqual({ access: true, refresh: true, cache: null });
    }
    expectNoTokenInClear(provider, row);
    // The code was redeemed with its PKCE verifier.
    expect(standIn(provider).grants('authorization_code').at(-1)).toMatchObject({ code_verifier: expect.stringMatching(/^[A-Za-z0-9._~-]{43,128}$/), redirect_uri: `${CALLBACK_ORIGIN}/api/v1/oauth/${provider}/callback` });

    const listed = await list(owner.token);
    expect(listed.body.data).toEqual([
      { id: row.id, platform: provider, shop: null, account: user.email, scopes: row.scopes, status: 'active', connectedAt: expect.any(String), revokedAt: null },
    ]);
    for (const token of [...standIn(provider).issuedAccessTokens, ...standIn(provider).issuedRefreshTokens]) expect(listed.text).not.toContain(token);
    const audit = await db.query(`SELECT actor_id, status, metadata FROM audit_logs WHERE retailer_id = $1 AND event = 'oauth_connected'`, [owner.retailerId]);
    expect(audit).toEqual([{ actor_id: owner.userId, status: 'success', metadata: expect.objectContaining({ connectionId: row.id, provider, account: externalIdOf(provider, user) }) }]);
  });

  it('refreshes: an expired access token is replaced by one from the token endpoint, stored sealed; a fresh one is served without a call', async () => {
    const owner = await signedInOwner();
    standIn(provider).accessTokenTtlSec = 60; // inside both libraries' renewal margin: already "expiring"
    const { row } = await link(provider, owner);
    const linkedToken = standIn(provider).issuedAccessTokens.at(-1)!;
    const refreshesBefore = standIn(provider).grants('refresh_token').length;
    const mailboxes = a.app.get(MailboxesService);

    const first = await mailboxes.acquireAccessToken(row.id, { retailerId: owner.retailerId });
    expect(first.accessToken).not.toBe(linkedToken);
    expect(first.accessToken).toBe(standIn(provider).issuedAccessTokens.at(-1));
    expect(standIn(provider).grants('refresh_token')).toHaveLength(refreshesBefore + 1);
    const after = await rowById(row.id);
    if (provider === 'microsoft') expect(after.token_cache).not.toBe(row.token_cache);
    else {
      expect(after.access_token).not.toBe(row.access_token);
      expect(after.refresh_token).toBe(row.refresh_token); // Google does not rotate it
    }
    expect(new Date(after.token_expires_at).getTime()).toBeGreaterThan(Date.now() + 30_000);
    expectNoTokenInClear(provider, after);

    // A long-lived token is answered from storage, without a call to the provider.
    standIn(provider).accessTokenTtlSec = 3600;
    const fresh = await mailboxes.acquireAccessToken(row.id, { forceRefresh: true });
    const calls = standIn(provider).grants('refresh_token').length;
    const again = await mailboxes.acquireAccessToken(row.id);
    expect(again.accessToken).toBe(fresh.accessToken);
    expect(standIn(provider).grants('refresh_token')).toHaveLength(calls);

    // Another retailer's id is not found.
    await expect(mailboxes.acquireAccessToken(row.id, { retailerId: (await signedInOwner()).retailerId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('unlinks: revoked at the provider where it offers that, the row and its tokens deleted, audit-logged', async () => {
    const owner = await signedInOwner();
    const { row, user } = await link(provider, owner);
    const refreshToken = standIn(provider).issuedRefreshTokens.at(-1)!;
    const res = await request(a.http).delete(`/api/v1/oauth/connections/${row.id}`).set('Authorization', `Bearer ${owner.token}`);
    const expected = provider === 'google' ? 'revoked' : 'not_offered';
    expect({ status: res.status, data: res.body.data }).toEqual({ status: 200, data: { removed: true, platformRevocation: expected } });
    if (provider === 'google') expect(google.revokedTokens).toEqual(expect.arrayContaining([refreshToken]));
    expect(await rowById(row.id)).toBeUndefined();
    expect((await list(owner.token)).body.data).toEqual([]);
    const audit = await db.query(`SELECT actor_id, metadata FROM audit_logs WHERE retailer_id = $1 AND event = 'oauth_disconnected'`, [owner.retailerId]);
    expect(audit).toEqual([{ actor_id: owner.userId, metadata: { connectionId: row.id, provider, account: externalIdOf(provider, user), platformRevocation: expected } }]);
    await expect(a.app.get(MailboxesService).acquireAccessToken(row.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  describe('attacks on the callback: refused, audit-logged, nothing stored', () => {
    it("another browser's state (a callback URL carried to a victim's browser) is refused without burning it", async () => {
      const attacker = await signedInOwner();
      const victim = await signedInOwner();
      const user = newMailboxUser();
      standIn(provider).user = user;
      const attackerFlow = await connect(provider, attacker.token);
      const attackerCallback = await standIn(provider).approve(attackerFlow.authorizeUrl.toString());
      const victimFlow = await connect(provider, victim.token);
      const grants = standIn(provider).grants('authorization_code').length;

      const result = outcome(await arrive(attackerCallback, victimFlow.cookie));
      expect(result).toEqual({ mailbox: provider, status: 'error', code: 'TOKEN_INVALID', reason: 'state_mismatch' });
      // No browser cookie at all: refused the same way.
      expect(outcome(await arrive(attackerCallback))).toMatchObject({ status: 'error', code: 'TOKEN_INVALID', reason: 'not_started_in_this_browser' });
      expect(standIn(provider).grants('authorization_code')).toHaveLength(grants);
      expect(await rowsOfUser(provider, user)).toEqual([]);
      expect(await failures(attacker.retailerId)).toEqual([
        { actor_id: attacker.userId, retailer_id: attacker.retailerId, status: 'failure', reason: 'state_mismatch', metadata: { provider, code: 'TOKEN_INVALID' } },
        { actor_id: attacker.userId, retailer_id: attacker.retailerId, status: 'failure', reason: 'not_started_in_this_browser', metadata: { provider, code: 'TOKEN_INVALID' } },
      ]);
      // The browser that did start it still completes.
      expect(outcome(await arrive(attackerCallback, attackerFlow.cookie))).toMatchObject({ status: 'connected' });
    });

    it('a replayed state is refused: one link, one code redemption', async () => {
      const owner = await signedInOwner();
      const { location, started, user } = await link(provider, owner);
      const grants = standIn(provider).grants('authorization_code').length;
      const replay = outcome(await arrive(location, started.cookie));
      expect(replay).toEqual({ mailbox: provider, status: 'error', code: 'TOKEN_INVALID', reason: 'state_used_or_expired' });
      expect(standIn(provider).grants('authorization_code')).toHaveLength(grants);
      expect(await rowsOfUser(provider, user)).toHaveLength(1);
      expect(await failures(owner.retailerId)).toEqual([expect.objectContaining({ reason: 'state_used_or_expired', actor_id: owner.userId })]);
    });

    it('a missing PKCE verifier is refused before any redemption, and the provider refuses a redemption without one', async () => {
      const owner = await signedInOwner();
      const user = newMailboxUser();
      standIn(provider).user = user;
      const started = await connect(provider, owner.token);
      const location = await standIn(provider).approve(started.authorizeUrl.toString());
      // A well-sealed binding cookie for this state but without its verifier (forged with the test key).
      const forged = new MailboxStateCookie(Buffer.from(TEST_SECRETS.APP_ENCRYPTION_KEY!, 'base64'), false).seal(provider, { state: started.state });
      const grants = standIn(provider).grants('authorization_code').length;
      const result = outcome(await arrive(location, `mailbox_oauth_${provider}=${encodeURIComponent(forged)}`));
      expect(result).toEqual({ mailbox: provider, status: 'error', code: 'TOKEN_INVALID', reason: 'pkce_verifier_missing' });
      expect(standIn(provider).grants('authorization_code')).toHaveLength(grants);
      expect(await failures(owner.retailerId)).toEqual([expect.objectContaining({ reason: 'pkce_verifier_missing' })]);

      // The code itself is useless without the verifier: the provider refuses it.
      const code = location.searchParams.get('code')!;
      const clientId = provider === 'microsoft' ? MS_ID : G_ID;
      const clientSecret = provider === 'microsoft' ? MS_SECRET : G_SECRET;
      const direct = await standIn(provider).postToken({ grant_type: 'authorization_code', code, redirect_uri: `${CALLBACK_ORIGIN}/api/v1/oauth/${provider}/callback`, client_id: clientId, client_secret: clientSecret });
      expect({ status: direct.status, error: direct.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
      expect(await rowsOfUser(provider, user)).toEqual([]);
    });

    it.each([
      ['error500', 'provider_unavailable'],
      ['hang', 'provider_timeout'],
    ] as const)('a token endpoint that answers %s: a clear error for the dashboard, nothing stored', async (mode, reason) => {
      const owner = await signedInOwner();
      const user = newMailboxUser();
      standIn(provider).user = user;
      const started = await connect(provider, owner.token);
      const location = await standIn(provider).approve(started.authorizeUrl.toString());
      standIn(provider).tokenMode = mode;
      const began = Date.now();
      const result = outcome(await arrive(location, started.cookie));
      expect(result).toEqual({ mailbox: provider, status: 'error', code: 'SERVICE_UNAVAILABLE', reason });
      expect(Date.now() - began).toBeLessThan(5000); // OAUTH_HTTP_TIMEOUT is 1 s here
      expect(await rowsOfUser(provider, user)).toEqual([]);
      expect(await failures(owner.retailerId)).toEqual([expect.objectContaining({ reason, metadata: { provider, code: 'SERVICE_UNAVAILABLE' } })]);
    });

    it('a declined consent, or a grant without the mail-send permission, stores nothing', async () => {
      const owner = await signedInOwner();
      const declined = await connect(provider, owner.token);
      const denied = new URL(`${CALLBACK_ORIGIN}/api/v1/oauth/${provider}/callback`);
      denied.searchParams.set('error', 'access_denied');
      denied.searchParams.set('state', declined.state);
      expect(outcome(await arrive(denied, declined.cookie))).toEqual({ mailbox: provider, status: 'error', code: 'FORBIDDEN', reason: 'access_denied' });

      const user = newMailboxUser();
      standIn(provider).user = user;
      standIn(provider).grantScopes = (asked) => asked.split(' ').filter((s) => !/Mail\.Send|gmail\.send/.test(s)).join(' ');
      const started = await connect(provider, owner.token);
      const location = await standIn(provider).approve(started.authorizeUrl.toString());
      expect(outcome(await arrive(location, started.cookie))).toEqual({ mailbox: provider, status: 'error', code: 'FORBIDDEN', reason: 'scope_not_granted' });
      expect(await rowsOfUser(provider, user)).toEqual([]);
    });
  });
});

describe('Microsoft authority metadata', () => {
  it('is read once and reused by later operations (no discovery GET per link or token acquisition)', async () => {
    const discovery = () => microsoft.requests.filter((r) => r.startsWith('GET ') && r.endsWith('/.well-known/openid-configuration')).length;
    const owner = await signedInOwner();
    const { row } = await link('microsoft', owner); // whatever the earlier tests left, the document is known now
    const before = discovery();
    await link('microsoft', owner);
    await a.app.get(MailboxesService).acquireAccessToken(row.id, { forceRefresh: true });
    expect(microsoft.grants('refresh_token').length).toBeGreaterThan(0);
    expect(discovery()).toBe(before);
  });
});

describe('mailboxes across accounts and roles', () => {
  it('a mailbox linked to one retailer cannot be linked to another (CONFLICT); the same retailer relinks it in place', async () => {
    const owner = await signedInOwner();
    const user = newMailboxUser();
    const first = await link('google', owner, user);
    const other = await signedInOwner();
    google.user = user;
    const started = await connect('google', other.token);
    const location = await google.approve(started.authorizeUrl.toString());
    expect(outcome(await arrive(location, started.cookie))).toMatchObject({ status: 'error', code: 'CONFLICT', reason: 'mailbox_linked_elsewhere' });
    const again = await link('google', owner, user);
    expect(again.row.id).toBe(first.row.id);
    expect(await rowsOfUser('google', user)).toHaveLength(1);
  });

  it('viewers and analysts cannot connect, an impersonating admin never (no state issued), and nobody without a session', async () => {
    const owner = await signedInOwner();
    for (const provider of ['microsoft', 'google'] as const) {
      for (const role of ['viewer', 'analyst']) {
        expectError(await request(a.http).get(`/api/v1/oauth/${provider}/connect`).set('Authorization', `Bearer ${await member(owner, role)}`), 403, 'FORBIDDEN');
      }
      expectError(await request(a.http).get(`/api/v1/oauth/${provider}/connect`), 401, 'TOKEN_MISSING');
    }
    const admin = await signedInAdmin(a, mailing.mailbox, { fullAccess: true });
    const imp = await impersonate(a, admin.token, owner.retailerId);
    for (const provider of ['microsoft', 'google'] as const) {
      expectError(await request(a.http).get(`/api/v1/oauth/${provider}/connect`).set('Authorization', `Bearer ${imp.token}`), 403, 'FORBIDDEN');
    }
    const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM one_time_tokens WHERE retailer_id = $1 AND purpose = 'oauth_state'`, [owner.retailerId]);
    expect(n).toBe(0);
  });

  it('a callback never redirects anywhere but the configured dashboard', async () => {
    const res = await request(a.http).get('/api/v1/oauth/google/callback').query({ state: 'x', code: 'y', redirect: 'https://evil.example/', redirect_uri: 'https://evil.example/', returnTo: 'https://evil.example/' });
    expect(outcome(res)).toEqual({ mailbox: 'google', status: 'error', code: 'TOKEN_INVALID', reason: 'not_started_in_this_browser' });
  });
});

describe('where a link returns (?redirect= on connect)', () => {
  const connectTo = (provider: Provider, token: string, redirect: string | string[]) =>
    request(a.http).get(`/api/v1/oauth/${provider}/connect`).query({ redirect }).set('Authorization', `Bearer ${token}`);

  it.each(['microsoft', 'google'] as const)('%s: back to the allowlisted page connect asked for, linked or refused after the state is spent', async (provider) => {
    const owner = await signedInOwner();
    standIn(provider).user = newMailboxUser();
    const res = await connectTo(provider, owner.token, ONBOARDING);
    expect({ status: res.status, error: res.body?.error }).toEqual({ status: 200, error: undefined });
    const cookie = setCookie(res, `mailbox_oauth_${provider}`)!.split(';')[0];
    const location = await standIn(provider).approve(res.body.data.authorizeUrl as string);
    expect(outcome(await arrive(location, cookie), ONBOARDING)).toEqual({ mailbox: provider, status: 'connected', connectionId: expect.any(String) });

    const declined = await connectTo(provider, owner.token, ONBOARDING);
    const denied = new URL(`${CALLBACK_ORIGIN}/api/v1/oauth/${provider}/callback`);
    denied.searchParams.set('error', 'access_denied');
    denied.searchParams.set('state', new URL(declined.body.data.authorizeUrl as string).searchParams.get('state')!);
    const refused = await arrive(denied, setCookie(declined, `mailbox_oauth_${provider}`)!.split(';')[0]);
    expect(outcome(refused, ONBOARDING)).toMatchObject({ status: 'error', code: 'FORBIDDEN', reason: 'access_denied' });

    // Before a state is proven nothing it says is believed: the default page.
    const replayed = await arrive(location, cookie);
    expect(outcome(replayed)).toMatchObject({ status: 'error', code: 'TOKEN_INVALID' });
  });

  it('refuses any other redirect before leaving for the provider (400 VALIDATION_FAILED): no state, no cookie', async () => {
    const owner = await signedInOwner();
    const statesBefore = (await db.query(`SELECT count(*)::int AS n FROM one_time_tokens WHERE purpose = 'oauth_state'`))[0].n;
    for (const redirect of ['https://evil.example/app/settings/mailboxes', `${DASHBOARD}/../../evil`, `${DASHBOARD}?x=1`, DASHBOARD.toUpperCase(), `${DASHBOARD}#x`, '', [DASHBOARD, ONBOARDING]]) {
      for (const provider of ['microsoft', 'google'] as const) {
        const res = await connectTo(provider, owner.token, redirect);
        expect({ status: res.status, code: res.body?.error?.code, field: res.body?.error?.details?.[0]?.field }).toEqual({ status: 400, code: 'VALIDATION_FAILED', field: 'redirect' });
        expect(setCookie(res, `mailbox_oauth_${provider}`)).toBeUndefined();
      }
    }
    expect((await db.query(`SELECT count(*)::int AS n FROM one_time_tokens WHERE purpose = 'oauth_state'`))[0].n).toBe(statesBefore);
  });
});

describe('an instance without mailbox credentials', () => {
  let bare: TestInstance;
  beforeAll(async () => {
    bare = await startInstance({ env: { RATE_LIMIT_REGISTER_IP: '1000/1h', RATE_LIMIT_LOGIN_IP: '1000/15m' } });
  });
  afterAll(() => bare?.close());

  it('answers 503 naming the missing variables', async () => {
    const owner = await registerOwner(bare);
    const { token } = await login(bare, owner.email);
    for (const [provider, variable] of [
      ['microsoft', 'MICROSOFT_CLIENT_ID'],
      ['google', 'GOOGLE_CLIENT_ID'],
    ]) {
      for (const res of [
        await request(bare.http).get(`/api/v1/oauth/${provider}/connect`).set('Authorization', `Bearer ${token}`),
        await request(bare.http).get(`/api/v1/oauth/${provider}/callback`).query({ state: 's', code: 'c' }),
      ]) {
        expectError(res, 503, 'SERVICE_UNAVAILABLE');
        expect(res.body.error.message).toContain(variable);
      }
    }
  });
});
