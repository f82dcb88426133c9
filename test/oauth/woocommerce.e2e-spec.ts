import { createHash } from 'node:crypto';
import { getDataSourceToken } from '@nestjs/typeorm';
import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { login, registerOwner, RegisteredOwner } from '../factories/retailer.factory';
import { expectError } from '../support/expectations';
import { WooCommerceStandIn, WooKeys } from '../support/store-providers';
import { startInstance, TestInstance } from '../support/test-app';

/**
 * WooCommerce's key-generation flow: a signed-in retailer asks for the store's
 * /wc-auth/v1/authorize URL (a single-use nonce as user_id), the store posts the key pair to our
 * callback, which accepts it once, for a pending nonce, and stores it encrypted.
 */

const CALLBACK_ORIGIN = 'http://api.test';
const DASHBOARD = 'http://dashboard.test/app';
const sha256Hex = (v: string) => createHash('sha256').update(v).digest('hex');

let a: TestInstance;
let db: DataSource;

interface Owner extends RegisteredOwner {
  token: string;
}

async function signedInOwner(): Promise<Owner> {
  const owner = await registerOwner(a);
  return { ...owner, token: (await login(a, owner.email)).token };
}

const uniqueStore = () => `https://shop-${Math.random().toString(36).slice(2, 9)}.example.com`;

function connect(token: string | undefined, storeUrl: string): Promise<Response> {
  const req = request(a.http).get('/api/v1/oauth/woocommerce/connect').query({ storeUrl });
  return token ? req.set('Authorization', `Bearer ${token}`) : req;
}

/** Posts to the callback URL the store was given, mapped onto the instance (the path must be ours). */
function deliverTo(callbackUrl: string, body: unknown): Promise<Response> {
  const url = new URL(callbackUrl);
  expect(url.origin).toBe(CALLBACK_ORIGIN);
  return request(a.http).post(url.pathname).set('content-type', 'application/json').send(body as object);
}

const postCallback = (body: unknown) => request(a.http).post('/api/v1/oauth/woocommerce/callback').send(body as object);

async function connectionRow(storeUrl: string): Promise<any | undefined> {
  const rows = await db.query(`SELECT * FROM oauth_connections WHERE provider = 'woocommerce' AND external_id = $1`, [storeUrl]);
  return rows[0];
}

/** A pending connect request: the store, its authorize URL and the nonce in it. */
async function pendingConnect(owner: Owner, storeUrl = uniqueStore()) {
  const store = new WooCommerceStandIn(storeUrl);
  const res = await connect(owner.token, storeUrl);
  expect({ status: res.status, error: res.body?.error }).toEqual({ status: 200, error: undefined });
  const authorizeUrl = res.body.data.authorizeUrl as string;
  return { store, storeUrl, authorizeUrl, nonce: store.parse(authorizeUrl).userId, expiresAt: res.body.data.expiresAt as string };
}

beforeAll(async () => {
  a = await startInstance({
    env: {
      RATE_LIMIT_REGISTER_IP: '1000/1h',
      RATE_LIMIT_LOGIN_IP: '1000/15m',
      OAUTH_CALLBACK_BASE_URL: CALLBACK_ORIGIN,
      OAUTH_DASHBOARD_URL: DASHBOARD,
      WOOCOMMERCE_APP_NAME: 'Retail Analytics Test',
    },
  });
  db = a.app.get<DataSource>(getDataSourceToken());
});

afterAll(() => a?.close());

describe('WooCommerce connect', () => {
  it("answers the store's /wc-auth/v1/authorize URL with app_name, scope read, a nonce user_id, and the return and callback URLs", async () => {
    const owner = await signedInOwner();
    const { store, authorizeUrl, nonce, expiresAt, storeUrl } = await pendingConnect(owner);
    const params = store.parse(authorizeUrl);
    expect(params).toEqual({
      appName: 'Retail Analytics Test',
      scope: 'read',
      userId: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      returnUrl: `${DASHBOARD}?connected=woocommerce&store=${encodeURIComponent(storeUrl)}`,
      callbackUrl: `${CALLBACK_ORIGIN}/api/v1/oauth/woocommerce/callback`,
    });
    expect(new Date(expiresAt).getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
    // The nonce is stored only hashed, bound to the retailer and the store.
    const [row] = await db.query(`SELECT * FROM one_time_tokens WHERE token_hash = $1`, [sha256Hex(nonce)]);
    expect(row).toMatchObject({ purpose: 'woo_nonce', retailer_id: owner.retailerId, user_id: owner.userId, used_at: null, metadata: { storeUrl } });
    // Two requests, two different nonces.
    expect((await pendingConnect(owner, storeUrl)).nonce).not.toBe(nonce);
  });

  it('keeps a sub-path and normalises the store URL', async () => {
    const owner = await signedInOwner();
    const res = await connect(owner.token, 'https://Shop.Example.com/wordpress/');
    expect(res.status).toBe(200);
    expect(res.body.data.authorizeUrl).toMatch(/^https:\/\/shop\.example\.com\/wordpress\/wc-auth\/v1\/authorize\?/);
  });

  it.each(['http://shop.example.com', 'https://user:pw@shop.example.com', 'https://shop.example.com/?a=1', 'https://shop.example.com/#x', 'ftp://shop.example.com', 'https://127.0.0.1', 'https://localhost', 'shop.example.com', 'javascript:alert(1)'])(
    'refuses storeUrl %p (https store addresses only)',
    async (storeUrl) => {
      const owner = await signedInOwner();
      expectError(await connect(owner.token, storeUrl), 400, 'VALIDATION_FAILED');
    },
  );

  it('needs a signed-in retailer', async () => {
    expectError(await connect(undefined, uniqueStore()), 401, 'TOKEN_MISSING');
  });
});

describe('WooCommerce callback', () => {
  it('accepts the posted key pair for a pending nonce, stores it encrypted, and lists the store', async () => {
    const owner = await signedInOwner();
    const { store, authorizeUrl, storeUrl } = await pendingConnect(owner);
    const approved = await store.approve(authorizeUrl, (url, body) => deliverTo(url, body));
    expect(approved.status).toBe(200);
    expect(new URL(approved.returnUrl).searchParams.get('success')).toBe('1');

    const row = await connectionRow(storeUrl);
    expect(row).toMatchObject({ retailer_id: owner.retailerId, user_id: owner.userId, status: 'active', scopes: ['read'], metadata: { keyId: approved.keys.key_id } });
    const everything = JSON.stringify(await db.query(`SELECT * FROM oauth_connections`));
    expect(everything).not.toContain(approved.keys.consumer_key);
    expect(everything).not.toContain(approved.keys.consumer_secret);
    expect(a.logs.text).not.toContain(approved.keys.consumer_secret);

    const list = await request(a.http).get('/api/v1/oauth/connections').set('Authorization', `Bearer ${owner.token}`);
    expect(list.body.data).toEqual([{ id: row.id, platform: 'woocommerce', shop: storeUrl, scopes: ['read'], status: 'active', connectedAt: expect.any(String), revokedAt: null }]);
    expect(JSON.stringify(list.body)).not.toMatch(/ck_|cs_/);
    const audit = await db.query(`SELECT actor_id FROM audit_logs WHERE retailer_id = $1 AND event = 'oauth_connected'`, [owner.retailerId]);
    expect(audit).toEqual([{ actor_id: owner.userId }]);
  });

  it('a used nonce is refused: the second delivery stores nothing', async () => {
    const owner = await signedInOwner();
    const { store, authorizeUrl, storeUrl, nonce } = await pendingConnect(owner);
    const first = await store.approve(authorizeUrl, (url, body) => deliverTo(url, body));
    const before = await connectionRow(storeUrl);
    const replay: WooKeys = { ...store.keysFor(nonce) };
    expectError(await postCallback(replay), 401, 'TOKEN_INVALID');
    expectError(await postCallback(first.keys), 401, 'TOKEN_INVALID');
    const after = await connectionRow(storeUrl);
    expect(after.access_token).toBe(before.access_token);
    expect(after.updated_at).toEqual(before.updated_at);
  });

  it('an unknown nonce is refused and stores nothing', async () => {
    const store = new WooCommerceStandIn(uniqueStore());
    const [{ n: before }] = await db.query(`SELECT count(*)::int AS n FROM oauth_connections`);
    expectError(await postCallback(store.keysFor('a-nonce-this-server-never-issued-0123456789')), 401, 'TOKEN_INVALID');
    const [{ n: after }] = await db.query(`SELECT count(*)::int AS n FROM oauth_connections`);
    expect(after).toBe(before);
  });

  it('an expired nonce is refused', async () => {
    const owner = await signedInOwner();
    const { store, nonce, storeUrl } = await pendingConnect(owner);
    await db.query(`UPDATE one_time_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, [sha256Hex(nonce)]);
    expectError(await postCallback(store.keysFor(nonce)), 401, 'TOKEN_INVALID');
    expect(await connectionRow(storeUrl)).toBeUndefined();
  });

  it('a malformed delivery is 400 and does not spend the nonce', async () => {
    const owner = await signedInOwner();
    const { store, nonce, storeUrl, authorizeUrl } = await pendingConnect(owner);
    const keys = store.keysFor(nonce);
    expectError(await postCallback({ ...keys, key_permissions: 'read_write' }), 400, 'VALIDATION_FAILED');
    expectError(await postCallback({ ...keys, consumer_secret: 'plain' }), 400, 'VALIDATION_FAILED');
    expectError(await postCallback({ ...keys, extra: 1 }), 400, 'VALIDATION_FAILED');
    expect(await connectionRow(storeUrl)).toBeUndefined();
    expect((await store.approve(authorizeUrl, (url, body) => deliverTo(url, body))).status).toBe(200);
  });

  it('a store connected to another retailer cannot be connected again elsewhere (409)', async () => {
    const first = await signedInOwner();
    const { store, authorizeUrl, storeUrl } = await pendingConnect(first);
    expect((await store.approve(authorizeUrl, (url, body) => deliverTo(url, body))).status).toBe(200);
    const second = await signedInOwner();
    expectError(await connect(second.token, storeUrl), 409, 'CONFLICT');
    expect(await connectionRow(storeUrl)).toMatchObject({ retailer_id: first.retailerId });
  });

  it('the same retailer reconnecting a store replaces its keys', async () => {
    const owner = await signedInOwner();
    const one = await pendingConnect(owner);
    await one.store.approve(one.authorizeUrl, (url, body) => deliverTo(url, body));
    const before = await connectionRow(one.storeUrl);
    const two = await pendingConnect(owner, one.storeUrl);
    expect((await two.store.approve(two.authorizeUrl, (url, body) => deliverTo(url, body))).status).toBe(200);
    const after = await connectionRow(one.storeUrl);
    expect(after.id).toBe(before.id);
    expect(after.access_token).not.toBe(before.access_token);
  });
});
