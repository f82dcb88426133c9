import { getDataSourceToken } from '@nestjs/typeorm';
import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { registerOwner } from '../factories/retailer.factory';
import { expectError } from '../support/expectations';
import { BigCommerceStandIn, BigCommerceStore } from '../support/store-providers';
import { startInstance, TestInstance } from '../support/test-app';

/**
 * BigCommerce single-click app callbacks against a local BigCommerce token endpoint: the auth
 * callback (code exchange, token sealed, account linked or created), and `load` / `uninstall`
 * with `signed_payload_jwt` verified HS256-pinned, audience the client id, not expired, store
 * connected. Every attack is refused with no side effect.
 */

const CLIENT_ID = 'bc-test-client-id';
const CLIENT_SECRET = 'bc-test-client-secret-0123456789abcdef';
const CALLBACK_ORIGIN = 'http://api.test';
const DASHBOARD = 'http://dashboard.test/app';
const HTTP_TIMEOUT_MS = 1000;

let bc: BigCommerceStandIn;
let a: TestInstance;
let db: DataSource;

const callback = (query: Record<string, string>): Promise<Response> => request(a.http).get('/api/v1/oauth/bigcommerce/callback').query(query);
const load = (jwt: string): Promise<Response> => request(a.http).get('/api/v1/oauth/bigcommerce/load').query({ signed_payload_jwt: jwt });
const uninstall = (jwt: string): Promise<Response> => request(a.http).get('/api/v1/oauth/bigcommerce/uninstall').query({ signed_payload_jwt: jwt });

async function connectionRow(store: BigCommerceStore): Promise<any | undefined> {
  const rows = await db.query(`SELECT * FROM oauth_connections WHERE provider = 'bigcommerce' AND external_id = $1`, [`stores/${store.hash}`]);
  return rows[0];
}

/** A store with the app installed (its own new retailer). */
async function installed(): Promise<{ store: BigCommerceStore; row: any }> {
  const store = bc.newStore();
  const res = await callback(bc.installQuery(store));
  expect({ status: res.status, error: res.body?.error }).toEqual({ status: 302, error: undefined });
  return { store, row: await connectionRow(store) };
}

beforeAll(async () => {
  bc = await new BigCommerceStandIn(CLIENT_ID, CLIENT_SECRET, `${CALLBACK_ORIGIN}/api/v1/oauth/bigcommerce/callback`).start();
  a = await startInstance({
    env: {
      RATE_LIMIT_REGISTER_IP: '1000/1h',
      RATE_LIMIT_LOGIN_IP: '1000/15m',
      BIGCOMMERCE_CLIENT_ID: CLIENT_ID,
      BIGCOMMERCE_CLIENT_SECRET: CLIENT_SECRET,
      BIGCOMMERCE_TOKEN_URL: bc.tokenUrl,
      OAUTH_CALLBACK_BASE_URL: CALLBACK_ORIGIN,
      OAUTH_DASHBOARD_URL: DASHBOARD,
      OAUTH_HTTP_TIMEOUT: `${HTTP_TIMEOUT_MS}ms`,
    },
  });
  db = a.app.get<DataSource>(getDataSourceToken());
});

afterAll(async () => {
  await a?.close();
  await bc?.stop();
});

describe('BigCommerce install', () => {
  it('exchanges the code, stores the token encrypted, creates the account and redirects to the dashboard (no session)', async () => {
    const store = bc.newStore();
    const res = await callback(bc.installQuery(store));
    expect(res.status).toBe(302);
    const target = new URL(res.headers.location as string);
    expect(`${target.origin}${target.pathname}`).toBe(DASHBOARD);
    expect(Object.fromEntries(target.searchParams)).toEqual({ connected: 'bigcommerce', store: store.hash });
    // No state in BigCommerce's install: a forged callback must not become a session.
    expect(([res.headers['set-cookie'] ?? []].flat() as string[]).some((c) => c.startsWith('retailer_access_token='))).toBe(false);

    const row = await connectionRow(store);
    const token = bc.issuedTokens.at(-1)!;
    expect(row).toMatchObject({ status: 'active', scopes: ['store_v2_orders_read_only', 'store_v2_products_read_only'] });
    expect(row.access_token).toMatch(/^v1\./);
    expect(JSON.stringify(await db.query(`SELECT * FROM oauth_connections`))).not.toContain(token);
    const [owner] = await db.query(`SELECT email, role, password_hash FROM users WHERE retailer_id = $1`, [row.retailer_id]);
    expect(owner).toEqual({ email: store.ownerEmail, role: 'owner', password_hash: null });
    const audit = await db.query(`SELECT event FROM audit_logs WHERE retailer_id = $1 ORDER BY id`, [row.retailer_id]);
    expect(audit.map((r: any) => r.event)).toEqual(['user_registered', 'oauth_connected']);
    expect(a.logs.text).not.toContain(token);
  });

  it('a reinstall keeps the store on its retailer and replaces the token', async () => {
    const { store, row } = await installed();
    expect((await callback(bc.installQuery(store))).status).toBe(302);
    const after = await connectionRow(store);
    expect({ id: after.id, retailer: after.retailer_id, status: after.status }).toEqual({ id: row.id, retailer: row.retailer_id, status: 'active' });
    expect(after.access_token).not.toBe(row.access_token);
  });

  it('an owner email that already has an account is 409, nothing stored', async () => {
    const existing = await registerOwner(a);
    const store = bc.newStore(existing.email);
    expectError(await callback(bc.installQuery(store)), 409, 'CONFLICT');
    expect(await connectionRow(store)).toBeUndefined();
  });

  it('refuses a malformed callback before calling BigCommerce', async () => {
    const store = bc.newStore();
    const before = bc.requests.length;
    const queries: Array<Record<string, string>> = [{ ...bc.installQuery(store), context: 'stores/../../x' }, { ...bc.installQuery(store), code: '' }, { scope: 'x', context: `stores/${store.hash}` }];
    for (const query of queries) {
      expectError(await callback(query), 400, 'VALIDATION_FAILED');
    }
    expect(bc.requests.length).toBe(before);
    expect(await connectionRow(store)).toBeUndefined();
  });

  it('a code BigCommerce refuses is 401, nothing stored', async () => {
    const store = bc.newStore();
    const query = bc.installQuery(store);
    expectError(await callback({ ...query, code: 'not-a-code' }), 401, 'TOKEN_INVALID');
    expect(await connectionRow(store)).toBeUndefined();
  });

  it('a token answered for another store than the callback named is refused, nothing stored', async () => {
    const store = bc.newStore();
    bc.answerContextOverride = 'stores/someoneelse';
    try {
      expectError(await callback(bc.installQuery(store)), 401, 'TOKEN_INVALID');
    } finally {
      bc.answerContextOverride = null;
    }
    expect(await connectionRow(store)).toBeUndefined();
    expect(JSON.stringify(await db.query(`SELECT * FROM oauth_connections WHERE external_id = 'stores/someoneelse'`))).toBe('[]');
  });

  it.each([
    ['answers 500', 'error500'],
    ['hangs', 'hang'],
  ] as const)('a token endpoint that %s is 503 within the timeout, nothing stored', async (_label, mode) => {
    const store = bc.newStore();
    const [{ n: retailers }] = await db.query(`SELECT count(*)::int AS n FROM retailers`);
    bc.tokenMode = mode;
    try {
      const started = Date.now();
      const res = await callback(bc.installQuery(store));
      expectError(res, 503, 'SERVICE_UNAVAILABLE');
      expect(res.body.error.message).toMatch(/BigCommerce/);
      expect(Date.now() - started).toBeLessThan(HTTP_TIMEOUT_MS + 2000);
    } finally {
      bc.tokenMode = 'ok';
    }
    expect(await connectionRow(store)).toBeUndefined();
    const [{ n: after }] = await db.query(`SELECT count(*)::int AS n FROM retailers`);
    expect(after).toBe(retailers);
  });
});

describe('BigCommerce load and uninstall', () => {
  it('load verifies the signed payload and redirects to the dashboard', async () => {
    const { store } = await installed();
    const res = await load(bc.signedPayload(store));
    expect(res.status).toBe(302);
    expect(Object.fromEntries(new URL(res.headers.location as string).searchParams)).toEqual({ platform: 'bigcommerce', store: store.hash });
  });

  it('uninstall revokes the connection and deletes its token', async () => {
    const { store, row } = await installed();
    const res = await uninstall(bc.signedPayload(store));
    expect({ status: res.status, data: res.body.data }).toEqual({ status: 200, data: { uninstalled: true } });
    expect(await connectionRow(store)).toMatchObject({ status: 'revoked', access_token: null });
    const audit = await db.query(`SELECT actor_type, actor_id FROM audit_logs WHERE retailer_id = $1 AND event = 'oauth_revoked'`, [row.retailer_id]);
    expect(audit).toEqual([{ actor_type: 'service', actor_id: 'bigcommerce' }]);
    // A revoked store no longer loads.
    expectError(await load(bc.signedPayload(store)), 404, 'NOT_FOUND');
  });

  const attacks: Array<[string, (store: BigCommerceStore) => string, number, string]> = [
    ['alg none (unsigned)', (s) => bc.signedPayload(s, { header: { alg: 'none' }, secret: null }), 401, 'TOKEN_INVALID'],
    ['alg none with a signature', (s) => bc.signedPayload(s, { header: { alg: 'none' } }), 401, 'TOKEN_INVALID'],
    ['HS512 instead of HS256', (s) => bc.signedPayload(s, { header: { alg: 'HS512' } }), 401, 'TOKEN_INVALID'],
    ['another audience', (s) => bc.signedPayload(s, { payload: { aud: 'another-app-client-id' } }), 401, 'TOKEN_INVALID'],
    ['another issuer', (s) => bc.signedPayload(s, { payload: { iss: 'not-bc' } }), 401, 'TOKEN_INVALID'],
    ['expired', (s) => bc.signedPayload(s, { payload: { iat: Math.floor(Date.now() / 1000) - 7200, nbf: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 } }), 401, 'TOKEN_EXPIRED'],
    ['no expiry', (s) => bc.signedPayload(s, { payload: { exp: undefined } }), 401, 'TOKEN_INVALID'],
    ['another secret', (s) => bc.signedPayload(s, { secret: 'some-other-client-secret-0123456789' }), 401, 'TOKEN_INVALID'],
    ['another store (not connected)', () => bc.signedPayload(bc.newStore()), 404, 'NOT_FOUND'],
    ['a malformed store', (s) => bc.signedPayload(s, { payload: { sub: 'stores/../x' } }), 401, 'TOKEN_INVALID'],
    ['garbage', () => 'not.a.jwt', 401, 'TOKEN_INVALID'],
  ];

  it.each(attacks)('uninstall with a payload of %s is refused, the connection untouched', async (_label, make, status, code) => {
    const { store } = await installed();
    expectError(await uninstall(make(store)), status, code);
    expectError(await load(make(store)), status, code);
    expect(await connectionRow(store)).toMatchObject({ status: 'active', access_token: expect.stringMatching(/^v1\./) });
  });

  it('a missing signed_payload_jwt is 401 TOKEN_MISSING', async () => {
    expectError(await request(a.http).get('/api/v1/oauth/bigcommerce/uninstall'), 401, 'TOKEN_MISSING');
  });
});
