import { getDataSourceToken } from '@nestjs/typeorm';
import { hash } from 'bcrypt';
import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { impersonate, signedInAdmin } from '../factories/admin.factory';
import { cookieValue, login, registerOwner, RegisteredOwner, STRONG_PASSWORD, uniqueEmail } from '../factories/retailer.factory';
import { expectError } from '../support/expectations';
import { BigCommerceStandIn, ShopifyStandIn } from '../support/store-providers';
import { startInstance, TestInstance } from '../support/test-app';
import { MailingInstance, startWithMailbox } from '../support/with-mailbox';

/**
 * A retailer's connections across platforms: the list (never a token), unlinking (revoked at
 * Shopify, deleted here, audit-logged), who may do either (permissions, impersonation, tenants),
 * and an instance without provider credentials answering a clear 503.
 */

const SHOPIFY_KEY = 'conn-shopify-key';
const SHOPIFY_SECRET = 'conn-shopify-secret-0123456789abcdef';
const BC_ID = 'conn-bc-client';
const BC_SECRET = 'conn-bc-secret-0123456789abcdef';
const CALLBACK_ORIGIN = 'http://api.test';

let shopify: ShopifyStandIn;
let bc: BigCommerceStandIn;
let mailing: MailingInstance;
let a: TestInstance;
let db: DataSource;

interface Owner extends RegisteredOwner {
  token: string;
}

const uniqueShop = () => `conn-${Math.random().toString(36).slice(2, 9)}.myshopify.com`;

async function signedInOwner(): Promise<Owner> {
  const owner = await registerOwner(a);
  return { ...owner, token: (await login(a, owner.email)).token };
}

/** Connects a new shop to the owner's retailer through the dashboard flow; returns the row. */
async function connectShop(owner: Owner): Promise<{ shop: string; row: any }> {
  const shop = shopify.addShop(uniqueShop());
  const res = await request(a.http).get('/api/v1/oauth/shopify/connect').query({ shop }).set('Authorization', `Bearer ${owner.token}`);
  expect(res.status).toBe(200);
  const cookie = cookieValue([res.headers['set-cookie']].flat() as string[], 'shopify_oauth_state')!;
  const approved = await fetch(res.body.data.authorizeUrl as string, { redirect: 'manual' });
  const location = new URL(approved.headers.get('location')!);
  const cb = await request(a.http).get(`${location.pathname}${location.search}`).set('Cookie', `shopify_oauth_state=${cookie}`);
  expect({ status: cb.status, error: cb.body?.error }).toEqual({ status: 302, error: undefined });
  const [row] = await db.query(`SELECT * FROM oauth_connections WHERE provider = 'shopify' AND external_id = $1`, [shop]);
  return { shop, row };
}

const list = (token: string) => request(a.http).get('/api/v1/oauth/connections').set('Authorization', `Bearer ${token}`);
const remove = (token: string, id: string) => request(a.http).delete(`/api/v1/oauth/connections/${id}`).set('Authorization', `Bearer ${token}`);
const rowById = async (id: string) => (await db.query(`SELECT * FROM oauth_connections WHERE id = $1`, [id]))[0];

/** A member of the owner's retailer with a given role, signed in. */
async function member(owner: Owner, role: string): Promise<string> {
  const email = uniqueEmail(role);
  await db.query(`INSERT INTO users (retailer_id, email, name, password_hash, role) VALUES ($1, $2, 'Member', $3, $4)`, [owner.retailerId, email, await hash(STRONG_PASSWORD, 4), role]);
  return (await login(a, email)).token;
}

beforeAll(async () => {
  shopify = await new ShopifyStandIn(SHOPIFY_KEY, SHOPIFY_SECRET).start();
  bc = await new BigCommerceStandIn(BC_ID, BC_SECRET, `${CALLBACK_ORIGIN}/api/v1/oauth/bigcommerce/callback`).start();
  mailing = await startWithMailbox({
    env: {
      RATE_LIMIT_REGISTER_IP: '1000/1h',
      RATE_LIMIT_LOGIN_IP: '1000/15m',
      SHOPIFY_API_KEY: SHOPIFY_KEY,
      SHOPIFY_API_SECRET: SHOPIFY_SECRET,
      SHOPIFY_ADMIN_BASE_URL_TEMPLATE: shopify.adminTemplate,
      BIGCOMMERCE_CLIENT_ID: BC_ID,
      BIGCOMMERCE_CLIENT_SECRET: BC_SECRET,
      BIGCOMMERCE_TOKEN_URL: bc.tokenUrl,
      OAUTH_CALLBACK_BASE_URL: CALLBACK_ORIGIN,
      OAUTH_HTTP_TIMEOUT: '1s',
    },
  });
  a = mailing.instance;
  db = a.app.get<DataSource>(getDataSourceToken());
});

afterAll(async () => {
  await mailing?.close();
  await shopify?.stop();
  await bc?.stop();
});

describe('unlinking', () => {
  it('a Shopify connection is revoked at Shopify, deleted here, and audit-logged', async () => {
    const owner = await signedInOwner();
    const { shop, row } = await connectShop(owner);
    const token = shopify.issuedTokens.at(-1)!;
    const res = await remove(owner.token, row.id);
    expect({ status: res.status, data: res.body.data }).toEqual({ status: 200, data: { removed: true, platformRevocation: 'revoked' } });
    expect(shopify.revokedTokens).toContain(token);
    expect(await rowById(row.id)).toBeUndefined();
    expect((await list(owner.token)).body.data).toEqual([]);
    const audit = await db.query(`SELECT actor_id, metadata FROM audit_logs WHERE retailer_id = $1 AND event = 'oauth_disconnected'`, [owner.retailerId]);
    expect(audit).toEqual([{ actor_id: owner.userId, metadata: { connectionId: row.id, provider: 'shopify', account: shop, platformRevocation: 'revoked' } }]);
    // Gone means gone: a second delete is 404.
    expectError(await remove(owner.token, row.id), 404, 'NOT_FOUND');
  });

  it('when Shopify cannot be told, the connection is still deleted here and the answer says so', async () => {
    const owner = await signedInOwner();
    const { row } = await connectShop(owner);
    shopify.failRevocation = true;
    try {
      const res = await remove(owner.token, row.id);
      expect(res.body.data).toEqual({ removed: true, platformRevocation: 'failed' });
    } finally {
      shopify.failRevocation = false;
    }
    expect(await rowById(row.id)).toBeUndefined();
  });

  it('a BigCommerce connection is deleted here (BigCommerce offers apps no revocation); a revoked one needs none', async () => {
    const store = bc.newStore();
    expect((await request(a.http).get('/api/v1/oauth/bigcommerce/callback').query(bc.installQuery(store))).status).toBe(302);
    const [row] = await db.query(`SELECT * FROM oauth_connections WHERE external_id = $1`, [`stores/${store.hash}`]);
    await db.query(`UPDATE users SET password_hash = $1 WHERE retailer_id = $2`, [await hash(STRONG_PASSWORD, 4), row.retailer_id]);
    const { token } = await login(a, store.ownerEmail);
    expect((await list(token)).body.data).toEqual([expect.objectContaining({ id: row.id, platform: 'bigcommerce', shop: `stores/${store.hash}` })]);
    expect((await remove(token, row.id)).body.data).toEqual({ removed: true, platformRevocation: 'not_offered' });

    const again = bc.newStore();
    await request(a.http).get('/api/v1/oauth/bigcommerce/callback').query(bc.installQuery(again));
    const [second] = await db.query(`SELECT * FROM oauth_connections WHERE external_id = $1`, [`stores/${again.hash}`]);
    await request(a.http).get('/api/v1/oauth/bigcommerce/uninstall').query({ signed_payload_jwt: bc.signedPayload(again) }).expect(200);
    await db.query(`UPDATE users SET password_hash = $1 WHERE retailer_id = $2`, [await hash(STRONG_PASSWORD, 4), second.retailer_id]);
    const other = await login(a, again.ownerEmail);
    expect((await remove(other.token, second.id)).body.data).toEqual({ removed: true, platformRevocation: 'not_needed' });
  });

  it("another retailer's connection is neither listed nor removable (404, untouched)", async () => {
    const owner = await signedInOwner();
    const { row } = await connectShop(owner);
    const stranger = await signedInOwner();
    expect((await list(stranger.token)).body.data).toEqual([]);
    expectError(await remove(stranger.token, row.id), 404, 'NOT_FOUND');
    expect(await rowById(row.id)).toMatchObject({ status: 'active' });
    expectError(await remove(owner.token, 'not-a-uuid'), 400, 'VALIDATION_FAILED');
  });

  it('a cookie-authenticated delete needs the CSRF header', async () => {
    const owner = await registerOwner(a);
    const signed = await login(a, owner.email);
    const { row } = await connectShop({ ...owner, token: signed.token });
    const access = cookieValue(signed.cookies, 'retailer_access_token')!;
    const csrf = cookieValue(signed.cookies, 'csrf_token')!;
    const cookie = `retailer_access_token=${access}; csrf_token=${csrf}`;
    expectError(await request(a.http).delete(`/api/v1/oauth/connections/${row.id}`).set('Cookie', cookie), 403, 'CSRF_FAILED');
    expect(await rowById(row.id)).toBeDefined();
    const ok = await request(a.http).delete(`/api/v1/oauth/connections/${row.id}`).set('Cookie', cookie).set('X-CSRF-Token', csrf);
    expect(ok.status).toBe(200);
  });
});

describe('who may manage connections', () => {
  it('viewers and analysts can neither list, connect nor unlink; admins can', async () => {
    const owner = await signedInOwner();
    const { row } = await connectShop(owner);
    for (const role of ['viewer', 'analyst']) {
      const token = await member(owner, role);
      expectError(await list(token), 403, 'FORBIDDEN');
      expectError(await remove(token, row.id), 403, 'FORBIDDEN');
      expectError(await request(a.http).get('/api/v1/oauth/woocommerce/connect').query({ storeUrl: 'https://s.example.com' }).set('Authorization', `Bearer ${token}`), 403, 'FORBIDDEN');
      expectError(await request(a.http).get('/api/v1/oauth/shopify/connect').query({ shop: uniqueShop() }).set('Authorization', `Bearer ${token}`), 403, 'FORBIDDEN');
    }
    const admin = await member(owner, 'admin');
    expect((await list(admin)).body.data).toEqual([expect.objectContaining({ id: row.id })]);
    expect(await rowById(row.id)).toMatchObject({ status: 'active' });
  });

  it('an impersonating admin, even with full access, may list but never connect or unlink', async () => {
    const owner = await signedInOwner();
    const { row } = await connectShop(owner);
    const admin = await signedInAdmin(a, mailing.mailbox, { fullAccess: true });
    const imp = await impersonate(a, admin.token, owner.retailerId);
    expect(imp.fullAccess).toBe(true);
    expect((await list(imp.token)).body.data).toEqual([expect.objectContaining({ id: row.id })]);
    expectError(await remove(imp.token, row.id), 403, 'FORBIDDEN');
    expectError(await request(a.http).get('/api/v1/oauth/woocommerce/connect').query({ storeUrl: 'https://s.example.com' }).set('Authorization', `Bearer ${imp.token}`), 403, 'FORBIDDEN');
    expectError(await request(a.http).get('/api/v1/oauth/shopify/connect').query({ shop: uniqueShop() }).set('Authorization', `Bearer ${imp.token}`), 403, 'FORBIDDEN');
    expect(await rowById(row.id)).toMatchObject({ status: 'active' });
    const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM one_time_tokens WHERE retailer_id = $1 AND purpose IN ('oauth_state', 'woo_nonce')`, [owner.retailerId]);
    expect(n).toBe(1); // only the owner's own connect
  });
});

describe('an instance without provider credentials', () => {
  let bare: TestInstance;
  beforeAll(async () => {
    bare = await startInstance({ env: { RATE_LIMIT_REGISTER_IP: '1000/1h', RATE_LIMIT_LOGIN_IP: '1000/15m' } });
  });
  afterAll(() => bare?.close());

  const notConfigured = (res: Response, variable: string) => {
    expectError(res, 503, 'SERVICE_UNAVAILABLE');
    expect(res.body.error.message).toContain(variable);
  };

  it('answers 503 naming the missing configuration, never a crash', async () => {
    notConfigured(await request(bare.http).get('/api/v1/oauth/shopify/install').query({ shop: 'a.myshopify.com' }), 'SHOPIFY_API_KEY');
    notConfigured(await request(bare.http).get('/api/v1/oauth/shopify/callback').query({ shop: 'a.myshopify.com', hmac: 'x' }), 'SHOPIFY_API_KEY');
    notConfigured(await request(bare.http).post('/api/v1/oauth/shopify/webhooks').set('X-Shopify-Hmac-Sha256', 'x').send({}), 'SHOPIFY_API_KEY');
    expectError(await request(bare.http).post('/api/v1/oauth/shopify/webhooks').send({}), 401, 'TOKEN_MISSING');
    notConfigured(await request(bare.http).get('/api/v1/oauth/bigcommerce/callback').query({ code: 'c', scope: 's', context: 'stores/abc' }), 'BIGCOMMERCE_CLIENT_ID');
    notConfigured(await request(bare.http).get('/api/v1/oauth/bigcommerce/load').query({ signed_payload_jwt: 'x' }), 'BIGCOMMERCE_CLIENT_ID');
    notConfigured(await request(bare.http).get('/api/v1/oauth/bigcommerce/uninstall').query({ signed_payload_jwt: 'x' }), 'BIGCOMMERCE_CLIENT_ID');
  });
});
