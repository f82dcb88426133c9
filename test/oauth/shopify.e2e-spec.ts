import { createHash } from 'node:crypto';
import { getDataSourceToken } from '@nestjs/typeorm';
import { hash } from 'bcrypt';
import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { cookieValue, login, registerOwner, STRONG_PASSWORD } from '../factories/retailer.factory';
import { expectError } from '../support/expectations';
import { ShopifyStandIn } from '../support/store-providers';
import { startInstance, TestInstance } from '../support/test-app';

/**
 * Shopify installs end to end against a local Shopify (authorize redirect with a real callback
 * HMAC, token endpoint, shop API, revocation) and signed webhooks, plus every attack of the
 * issue: each refused with no side effect (no state spent, nothing stored, nothing revoked).
 */

const API_KEY = 'shopify-test-api-key';
const API_SECRET = 'shopify-test-api-secret-0123456789abcdef';
const CALLBACK_ORIGIN = 'http://api.test';
const DASHBOARD = 'http://dashboard.test/app';
const HTTP_TIMEOUT_MS = 1000;
const sha256Hex = (v: string) => createHash('sha256').update(v).digest('hex');

let shopify: ShopifyStandIn;
let a: TestInstance;
let db: DataSource;

const uniqueShop = (label = 'shop') => `${label}-${Math.random().toString(36).slice(2, 9)}.myshopify.com`;

interface Started {
  state: string;
  cookie: string;
  authorizeUrl: string;
}

/** GET /install?shop= → the authorize URL, its state and the browser's state cookie. */
async function startInstall(shop: string): Promise<Started> {
  const res = await request(a.http).get('/api/v1/oauth/shopify/install').query({ shop });
  expect({ status: res.status, error: res.body?.error }).toEqual({ status: 302, error: undefined });
  const cookies = [res.headers['set-cookie']].flat() as string[];
  const cookie = cookieValue(cookies, 'shopify_oauth_state')!;
  const authorizeUrl = res.headers.location as string;
  return { state: new URL(authorizeUrl).searchParams.get('state')!, cookie, authorizeUrl };
}

/** The merchant approves at (the stand-in) Shopify: the signed callback query it redirects to. */
async function approve(authorizeUrl: string): Promise<string> {
  const res = await fetch(authorizeUrl, { redirect: 'manual' });
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location')!);
  expect(`${location.origin}${location.pathname}`).toBe(`${CALLBACK_ORIGIN}/api/v1/oauth/shopify/callback`);
  return location.search.slice(1);
}

function callback(query: string, cookie?: string): Promise<Response> {
  const req = request(a.http).get(`/api/v1/oauth/shopify/callback?${query}`);
  return cookie ? req.set('Cookie', `shopify_oauth_state=${cookie}`) : req;
}

/** A callback query signed by Shopify with these parameters (for crafted cases). */
function signed(params: Record<string, string>): string {
  return shopify.signedQuery(params);
}

const freshTimestamp = () => String(Math.floor(Date.now() / 1000));

async function connectionRow(shop: string): Promise<any | undefined> {
  const rows = await db.query(`SELECT * FROM oauth_connections WHERE provider = 'shopify' AND external_id = $1`, [shop]);
  return rows[0];
}

async function stateRow(state: string): Promise<any | undefined> {
  const rows = await db.query(`SELECT * FROM one_time_tokens WHERE token_hash = $1`, [sha256Hex(state)]);
  return rows[0];
}

async function retailerCount(): Promise<number> {
  const [row] = await db.query(`SELECT count(*)::int AS n FROM retailers`);
  return row.n;
}

async function auditEvents(retailerId: string, event: string): Promise<any[]> {
  return db.query(`SELECT * FROM audit_logs WHERE retailer_id = $1 AND event = $2 ORDER BY id`, [retailerId, event]);
}

beforeAll(async () => {
  shopify = await new ShopifyStandIn(API_KEY, API_SECRET).start();
  a = await startInstance({
    env: {
      RATE_LIMIT_REGISTER_IP: '1000/1h',
      RATE_LIMIT_LOGIN_IP: '1000/15m',
      SHOPIFY_API_KEY: API_KEY,
      SHOPIFY_API_SECRET: API_SECRET,
      SHOPIFY_ADMIN_BASE_URL_TEMPLATE: shopify.adminTemplate,
      OAUTH_CALLBACK_BASE_URL: CALLBACK_ORIGIN,
      OAUTH_DASHBOARD_URL: DASHBOARD,
      OAUTH_HTTP_TIMEOUT: `${HTTP_TIMEOUT_MS}ms`,
    },
  });
  db = a.app.get<DataSource>(getDataSourceToken());
});

afterAll(async () => {
  await a?.close();
  await shopify?.stop();
});

describe('Shopify install', () => {
  it('redirects to the shop authorize URL with the contract scopes and a hashed, browser-bound single-use state', async () => {
    const shop = shopify.addShop(uniqueShop());
    const res = await request(a.http).get('/api/v1/oauth/shopify/install').query({ shop });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.location as string);
    expect(`${location.origin}${location.pathname}`).toBe(`${shopify.base}/${shop}/admin/oauth/authorize`);
    expect(Object.fromEntries(location.searchParams)).toEqual({
      client_id: API_KEY,
      scope: 'read_products,read_orders,read_customers,read_reports',
      redirect_uri: `${CALLBACK_ORIGIN}/api/v1/oauth/shopify/callback`,
      state: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    const state = location.searchParams.get('state')!;
    const setCookie = ([res.headers['set-cookie']].flat() as string[]).find((c) => c.startsWith('shopify_oauth_state='))!;
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).toContain('Path=/api/v1/oauth/shopify');
    // Stored only as a hash, single use, about 10 minutes.
    const row = await stateRow(state);
    expect(row).toMatchObject({ purpose: 'oauth_state', used_at: null });
    expect(JSON.stringify(await db.query(`SELECT * FROM one_time_tokens WHERE purpose = 'oauth_state'`))).not.toContain(state);
    const ttlMs = new Date(row.expires_at).getTime() - Date.now();
    expect(ttlMs).toBeGreaterThan(9 * 60_000);
    expect(ttlMs).toBeLessThanOrEqual(10 * 60_000);
  });

  it('installs a new shop end to end: retailer and owner created, token sealed, merchant signed in, 302 to the dashboard', async () => {
    const shop = shopify.addShop(uniqueShop('new'), { name: 'Cactus Corner', owner: 'Ana Owner' });
    const started = await startInstall(shop);
    const query = await approve(started.authorizeUrl);
    const res = await callback(query, started.cookie);
    expect({ status: res.status, error: res.body?.error }).toEqual({ status: 302, error: undefined });
    const target = new URL(res.headers.location as string);
    expect(`${target.origin}${target.pathname}`).toBe(DASHBOARD);
    expect(target.searchParams.get('connected')).toBe('shopify');
    expect(target.searchParams.get('signIn')).toBeNull();

    // Signed in: the access cookie works, and names the shop's owner.
    const cookies = [res.headers['set-cookie']].flat() as string[];
    const access = cookieValue(cookies, 'retailer_access_token')!;
    expect(cookieValue(cookies, 'retailer_refresh_token')).toBeTruthy();
    const me = await request(a.http).get('/api/v1/auth/me').set('Authorization', `Bearer ${access}`);
    expect(me.status).toBe(200);
    expect(me.body.data.user.email).toBe(shopify.shops.get(shop)!.email);
    expect(me.body.data.retailer.name).toBe('Cactus Corner');
    expect(me.body.data.role).toBe('owner');

    // Stored encrypted: the row holds no plaintext token, and opens only with the key.
    const row = await connectionRow(shop);
    const token = shopify.issuedTokens.at(-1)!;
    expect(row).toMatchObject({ status: 'active', retailer_id: me.body.data.retailer.id, scopes: ['read_products', 'read_orders', 'read_customers', 'read_reports'] });
    expect(row.access_token).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toContain(token);
    expect(JSON.stringify(await db.query(`SELECT * FROM oauth_connections`))).not.toContain(token);

    // The state is spent; the audit says what happened.
    expect((await stateRow(started.state)).used_at).not.toBeNull();
    expect(await auditEvents(row.retailer_id, 'oauth_connected')).toHaveLength(1);
    const signIns = await auditEvents(row.retailer_id, 'login_success');
    expect(signIns.map((r) => r.metadata.method)).toEqual(['oauth']);

    // Listed without any token.
    const list = await request(a.http).get('/api/v1/oauth/connections').set('Authorization', `Bearer ${access}`);
    expect(list.status).toBe(200);
    expect(list.body.data).toEqual([
      { id: row.id, platform: 'shopify', shop, scopes: row.scopes, status: 'active', connectedAt: expect.any(String), revokedAt: null },
    ]);
    expect(JSON.stringify(list.body)).not.toContain(token);
  });

  it('a reinstall links the shop to its existing retailer (no second account) and signs the owner in again', async () => {
    const shop = shopify.addShop(uniqueShop('again'));
    const first = await startInstall(shop);
    expect((await callback(await approve(first.authorizeUrl), first.cookie)).status).toBe(302);
    const before = await connectionRow(shop);
    const retailers = await retailerCount();

    const second = await startInstall(shop);
    const res = await callback(await approve(second.authorizeUrl), second.cookie);
    expect(res.status).toBe(302);
    expect(cookieValue([res.headers['set-cookie']].flat() as string[], 'retailer_access_token')).toBeTruthy();
    const after = await connectionRow(shop);
    expect(await retailerCount()).toBe(retailers);
    expect({ id: after.id, retailer: after.retailer_id }).toEqual({ id: before.id, retailer: before.retailer_id });
    expect(after.access_token).not.toBe(before.access_token);
    expect(await auditEvents(after.retailer_id, 'oauth_connected')).toHaveLength(2);
  });

  it('refuses to create an account for a store whose owner email already has one (409, nothing stored)', async () => {
    const existing = await registerOwner(a);
    const shop = shopify.addShop(uniqueShop('taken'), { email: existing.email.toUpperCase() });
    const started = await startInstall(shop);
    const res = await callback(await approve(started.authorizeUrl), started.cookie);
    expectError(res, 409, 'CONFLICT');
    expect(res.headers['set-cookie'] ?? []).not.toEqual(expect.arrayContaining([expect.stringMatching(/^retailer_access_token=[^;]/)]));
    expect(await connectionRow(shop)).toBeUndefined();
  });

  it('connects a shop to a signed-in retailer from the dashboard; a later install of it links but signs nobody in', async () => {
    const owner = await registerOwner(a);
    const { token } = await login(a, owner.email);
    const shop = shopify.addShop(uniqueShop('dash'));
    const res = await request(a.http).get('/api/v1/oauth/shopify/connect').query({ shop }).set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    const cookie = cookieValue([res.headers['set-cookie']].flat() as string[], 'shopify_oauth_state')!;
    const cb = await callback(await approve(res.body.data.authorizeUrl), cookie);
    expect(cb.status).toBe(302);
    expect(new URL(cb.headers.location as string).searchParams.get('connected')).toBe('shopify');
    expect(await connectionRow(shop)).toMatchObject({ retailer_id: owner.retailerId, user_id: owner.userId, status: 'active' });

    // Anyone able to install apps on the shop must not become this account.
    const install = await startInstall(shop);
    const again = await callback(await approve(install.authorizeUrl), install.cookie);
    expect(again.status).toBe(302);
    expect(new URL(again.headers.location as string).searchParams.get('signIn')).toBe('required');
    expect(([again.headers['set-cookie']].flat() as string[]).some((c) => /^retailer_access_token=[^;]/.test(c ?? ''))).toBe(false);
    expect(await connectionRow(shop)).toMatchObject({ retailer_id: owner.retailerId, status: 'active' });
  });
});

describe('Shopify attacks on the install', () => {
  it('an install opened from the Shopify admin is signed: a valid hmac passes, a tampered or stale one is refused without a state', async () => {
    const shop = shopify.addShop(uniqueShop('admin'));
    const params = { shop, timestamp: freshTimestamp(), host: Buffer.from(`admin.shopify.com/store/${shop}`).toString('base64') };
    const ok = await request(a.http).get(`/api/v1/oauth/shopify/install?${signed(params)}`);
    expect(ok.status).toBe(302);
    const [before] = await db.query(`SELECT count(*)::int AS n FROM one_time_tokens WHERE purpose = 'oauth_state'`);
    const tampered = new URLSearchParams(signed(params));
    tampered.set('host', 'ZXZpbA');
    expectError(await request(a.http).get(`/api/v1/oauth/shopify/install?${tampered.toString()}`), 401, 'TOKEN_INVALID');
    const stale = signed({ ...params, timestamp: String(Math.floor(Date.now() / 1000) - 3600) });
    expectError(await request(a.http).get(`/api/v1/oauth/shopify/install?${stale}`), 401, 'TOKEN_EXPIRED');
    const [after] = await db.query(`SELECT count(*)::int AS n FROM one_time_tokens WHERE purpose = 'oauth_state'`);
    expect(after.n).toBe(before.n);
  });

  it.each(['evil.com', 'x.myshopify.com.evil.com', 'x.myshopify.com/@evil.com', 'x.myshopify.com:8443', 'X.myshopify.com', ''])(
    'refuses shop=%p with 400 and issues no state',
    async (shop) => {
      const [before] = await db.query(`SELECT count(*)::int AS n FROM one_time_tokens WHERE purpose = 'oauth_state'`);
      const res = await request(a.http).get('/api/v1/oauth/shopify/install').query({ shop });
      expectError(res, 400, 'VALIDATION_FAILED');
      expect(res.headers.location).toBeUndefined();
      const [after] = await db.query(`SELECT count(*)::int AS n FROM one_time_tokens WHERE purpose = 'oauth_state'`);
      expect(after.n).toBe(before.n);
    },
  );
});

describe('Shopify attacks on the callback (each refused with no side effect)', () => {
  /** A pending install and its genuine signed callback query, not yet sent. */
  async function pending(): Promise<Started & { shop: string; query: string }> {
    const shop = shopify.addShop(uniqueShop('atk'));
    const started = await startInstall(shop);
    return { ...started, shop, query: await approve(started.authorizeUrl) };
  }

  /** Nothing happened: state unspent, no connection, no token exchange asked for. */
  async function expectNoSideEffect(p: { state: string; shop: string }, exchangesBefore: number): Promise<void> {
    expect((await stateRow(p.state)).used_at).toBeNull();
    expect(await connectionRow(p.shop)).toBeUndefined();
    expect(shopify.requests.filter((r) => r.endsWith('/oauth/access_token')).length).toBe(exchangesBefore);
  }

  const exchanges = () => shopify.requests.filter((r) => r.endsWith('/oauth/access_token')).length;

  it('an altered query parameter with the original hmac is refused, and the genuine callback still works afterwards', async () => {
    const p = await pending();
    const n = exchanges();
    for (const [key, value] of [['shop', uniqueShop('other')], ['code', 'attacker-code'], ['timestamp', freshTimestamp() + '0'], ['host', 'ZXZpbA']] as const) {
      const params = new URLSearchParams(p.query);
      params.set(key, value);
      expectError(await callback(params.toString(), p.cookie), 401, 'TOKEN_INVALID');
    }
    // An added parameter is part of the signed message too.
    expectError(await callback(`${p.query}&extra=1`, p.cookie), 401, 'TOKEN_INVALID');
    await expectNoSideEffect(p, n);
    expect((await callback(p.query, p.cookie)).status).toBe(302);
  });

  it('a callback without hmac is refused', async () => {
    const p = await pending();
    const n = exchanges();
    const params = new URLSearchParams(p.query);
    params.delete('hmac');
    expectError(await callback(params.toString(), p.cookie), 401, 'TOKEN_INVALID');
    const repeated = `${p.query}&hmac=${params.get('code')}`;
    expectError(await callback(repeated, p.cookie), 401, 'TOKEN_INVALID');
    await expectNoSideEffect(p, n);
  });

  it('a state that is not the one issued to this browser is refused (cookie of another install, no cookie, forged cookie)', async () => {
    const p = await pending();
    const other = await startInstall(p.shop);
    const n = exchanges();
    expectError(await callback(p.query, other.cookie), 401, 'TOKEN_INVALID');
    expectError(await callback(p.query), 401, 'TOKEN_INVALID');
    expectError(await callback(p.query, `${p.state}.forged-signature`), 401, 'TOKEN_INVALID');
    // A correctly signed callback carrying a state this server never issued.
    const forged = signed({ code: shopify.issueCode(p.shop), shop: p.shop, state: 'never-issued-state', timestamp: freshTimestamp() });
    expectError(await callback(forged, p.cookie), 401, 'TOKEN_INVALID');
    await expectNoSideEffect(p, n);
    expect((await stateRow(other.state)).used_at).toBeNull();
  });

  it('a replayed callback is refused (the state works once)', async () => {
    const p = await pending();
    expect((await callback(p.query, p.cookie)).status).toBe(302);
    const row = await connectionRow(p.shop);
    const n = exchanges();
    expectError(await callback(p.query, p.cookie), 401, 'TOKEN_INVALID');
    expect(exchanges()).toBe(n);
    expect((await connectionRow(p.shop)).updated_at).toEqual(row.updated_at);
  });

  it('an expired state is refused', async () => {
    const p = await pending();
    await db.query(`UPDATE one_time_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, [sha256Hex(p.state)]);
    const n = exchanges();
    expectError(await callback(p.query, p.cookie), 401, 'TOKEN_INVALID');
    await expectNoSideEffect(p, n);
  });

  it('a state issued for another shop is refused', async () => {
    const p = await pending();
    const otherShop = shopify.addShop(uniqueShop('swap'));
    const n = exchanges();
    const query = signed({ code: shopify.issueCode(otherShop), shop: otherShop, state: p.state, timestamp: freshTimestamp() });
    expectError(await callback(query, p.cookie), 401, 'TOKEN_INVALID');
    await expectNoSideEffect(p, n);
    expect(await connectionRow(otherShop)).toBeUndefined();
  });

  it('a stale or future timestamp is refused, even correctly signed', async () => {
    const p = await pending();
    const params = Object.fromEntries(new URLSearchParams(p.query));
    delete params.hmac;
    const n = exchanges();
    expectError(await callback(signed({ ...params, timestamp: String(Math.floor(Date.now() / 1000) - 600) }), p.cookie), 401, 'TOKEN_EXPIRED');
    expectError(await callback(signed({ ...params, timestamp: String(Math.floor(Date.now() / 1000) + 600) }), p.cookie), 401, 'TOKEN_INVALID');
    expectError(await callback(signed({ ...params, timestamp: 'yesterday' }), p.cookie), 401, 'TOKEN_INVALID');
    await expectNoSideEffect(p, n);
  });

  it('a signed callback for a non-Shopify host is refused', async () => {
    const p = await pending();
    const params = Object.fromEntries(new URLSearchParams(p.query));
    delete params.hmac;
    const n = exchanges();
    for (const shop of ['evil.com', 'x.myshopify.com.evil.com', 'x.myshopify.com/@evil.com']) {
      expectError(await callback(signed({ ...params, shop }), p.cookie), 400, 'VALIDATION_FAILED');
    }
    await expectNoSideEffect(p, n);
  });

  it.each([
    ['answers 500', 'error500', 503, 'SERVICE_UNAVAILABLE'],
    ['hangs', 'hang', 503, 'SERVICE_UNAVAILABLE'],
    ['refuses the code', 'refuse400', 401, 'TOKEN_INVALID'],
  ] as const)('a token endpoint that %s gives a clear error within the timeout, and nothing is stored', async (_label, mode, status, code) => {
    const p = await pending();
    const retailers = await retailerCount();
    shopify.tokenMode = mode;
    try {
      const started = Date.now();
      const res = await callback(p.query, p.cookie);
      const elapsed = Date.now() - started;
      expectError(res, status, code);
      expect(res.body.error.message).toMatch(/Shopify/);
      expect(elapsed).toBeLessThan(HTTP_TIMEOUT_MS + 2000);
    } finally {
      shopify.tokenMode = 'ok';
    }
    expect(await connectionRow(p.shop)).toBeUndefined();
    expect(await retailerCount()).toBe(retailers);
    // The state was spent before the exchange (a code is single-use anyway): install again.
    expect((await stateRow(p.state)).used_at).not.toBeNull();
  });
});

describe('Shopify webhooks', () => {
  /** A freshly installed shop (its own retailer), connected and active. */
  async function installed(): Promise<{ shop: string; row: any }> {
    const shop = shopify.addShop(uniqueShop('hook'));
    const started = await startInstall(shop);
    expect((await callback(await approve(started.authorizeUrl), started.cookie)).status).toBe(302);
    return { shop, row: await connectionRow(shop) };
  }

  const deliver = (raw: string, headers: Record<string, string>) => request(a.http).post('/api/v1/oauth/shopify/webhooks').set(headers).send(raw);

  it('app/uninstalled revokes the connection and deletes its token, once per webhook id', async () => {
    const { shop, row } = await installed();
    const raw = JSON.stringify({ id: 548380009, name: 'Hook shop', myshopify_domain: shop, domain: shop });
    const headers = shopify.webhookHeaders(raw, 'app/uninstalled', shop);
    const res = await deliver(raw, headers);
    expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { success: true, data: { received: true, duplicate: false } } });
    const after = await connectionRow(shop);
    expect(after).toMatchObject({ status: 'revoked', access_token: null });
    expect(after.revoked_at).not.toBeNull();
    expect(await auditEvents(row.retailer_id, 'oauth_revoked')).toHaveLength(1);

    // Shopify retries deliveries: the same id is acknowledged and not processed again.
    const again = await deliver(raw, headers);
    expect(again.body.data).toEqual({ received: true, duplicate: true });
    expect(await auditEvents(row.retailer_id, 'oauth_revoked')).toHaveLength(1);

    // The list shows it revoked, still without a token.
    const list = await request(a.http)
      .get('/api/v1/oauth/connections')
      .set('Authorization', `Bearer ${(await signInOwnerOf(row.retailer_id)).token}`);
    expect(list.body.data).toEqual([expect.objectContaining({ id: row.id, status: 'revoked', revokedAt: expect.any(String) })]);
  });

  /** The shop's owner has no password; the test gives one so it can read the list over HTTP. */
  async function signInOwnerOf(retailerId: string) {
    const [user] = await db.query(`SELECT email FROM users WHERE retailer_id = $1 AND role = 'owner'`, [retailerId]);
    await db.query(`UPDATE users SET password_hash = $1 WHERE email = $2`, [await hash(STRONG_PASSWORD, 4), user.email]);
    return login(a, user.email);
  }

  it.each([
    ['a wrong signature', (h: string) => Buffer.from(Buffer.from(h, 'base64').map((b, i) => (i === 0 ? b ^ 1 : b))).toString('base64')],
    ['a truncated signature', (h: string) => h.slice(0, 20)],
    ['a hex signature instead of base64', (h: string) => Buffer.from(h, 'base64').toString('hex')],
    ['a signature made with another secret', () => Buffer.alloc(32, 1).toString('base64')],
  ])('%s is 401 and revokes nothing', async (_label, mangle) => {
    const { shop } = await installed();
    const raw = JSON.stringify({ myshopify_domain: shop });
    const headers = shopify.webhookHeaders(raw, 'app/uninstalled', shop);
    headers['x-shopify-hmac-sha256'] = mangle(headers['x-shopify-hmac-sha256']);
    expectError(await deliver(raw, headers), 401, 'TOKEN_INVALID');
    expect(await connectionRow(shop)).toMatchObject({ status: 'active', access_token: expect.stringMatching(/^v1\./) });
    // The refused delivery id was not remembered: a genuine delivery with it is processed.
    const genuine = shopify.webhookHeaders(raw, 'app/uninstalled', shop, headers['x-shopify-webhook-id']);
    expect((await deliver(raw, genuine)).body.data).toEqual({ received: true, duplicate: false });
  });

  it('a valid signature over re-serialised JSON is 401 (the HMAC is over the exact bytes)', async () => {
    const { shop } = await installed();
    const original = JSON.stringify({ myshopify_domain: shop, id: 1 });
    const headers = shopify.webhookHeaders(original, 'app/uninstalled', shop);
    const reserialised = JSON.stringify(JSON.parse(original), null, 2);
    expectError(await deliver(reserialised, headers), 401, 'TOKEN_INVALID');
    expect(await connectionRow(shop)).toMatchObject({ status: 'active' });
  });

  it('an unsigned webhook is 401 TOKEN_MISSING', async () => {
    const { shop } = await installed();
    const raw = JSON.stringify({ myshopify_domain: shop });
    const headers = shopify.webhookHeaders(raw, 'app/uninstalled', shop);
    delete headers['x-shopify-hmac-sha256'];
    expectError(await deliver(raw, headers), 401, 'TOKEN_MISSING');
    expect(await connectionRow(shop)).toMatchObject({ status: 'active' });
  });

  it('other topics are acknowledged; shop/redact deletes the connection', async () => {
    const { shop, row } = await installed();
    const raw = JSON.stringify({ shop_id: 1, shop_domain: shop });
    expect((await deliver(raw, shopify.webhookHeaders(raw, 'customers/data_request', shop))).status).toBe(200);
    expect(await connectionRow(shop)).toMatchObject({ status: 'active' });
    expect((await deliver(raw, shopify.webhookHeaders(raw, 'shop/redact', shop))).status).toBe(200);
    expect(await connectionRow(shop)).toBeUndefined();
    expect(await auditEvents(row.retailer_id, 'oauth_disconnected')).toHaveLength(1);
  });
});

describe('Shopify secrets in logs', () => {
  it('no provider token, app secret or state ever reaches the log', async () => {
    const shop = shopify.addShop(uniqueShop('logs'));
    const started = await startInstall(shop);
    const query = await approve(started.authorizeUrl);
    expect((await callback(query, started.cookie)).status).toBe(302);
    expectError(await callback(query, started.cookie), 401, 'TOKEN_INVALID');
    expect(shopify.issuedTokens.length).toBeGreaterThan(0);
    for (const token of shopify.issuedTokens) expect(a.logs.text).not.toContain(token);
    expect(a.logs.text).not.toContain(API_SECRET);
    expect(a.logs.text).not.toContain(started.state);
    expect(a.logs.text).not.toContain(started.cookie);
  });
});
