import { randomUUID } from 'node:crypto';
import { getDataSourceToken } from '@nestjs/typeorm';
import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { cookieValue, login, LoggedIn, registerOwner, RegisteredOwner } from '../factories/retailer.factory';
import { expectCodeWithin, expectError, expectWorks } from '../support/expectations';
import { decodeJwt, forgeJwt, kidOf } from '../support/jwt-forge';
import { hasRedis, startInstance, TEST_SECRETS, TestInstance } from '../support/test-app';

/**
 * The merchant portal's SSO as the dashboard and the portal use it, over HTTP: a signed-in user
 * asks for a handoff code, the portal trades it (once) for a portal token, which is also set as
 * the HttpOnly portal cookie and opens GET /portal/me, and nothing else. The portal token lives
 * and dies with the dashboard session it came from, on every instance.
 */

// Every suite of the run registers and signs in from 127.0.0.1: keep the per-IP limits out of the way.
const BASE_ENV = { RATE_LIMIT_REGISTER_IP: '1000/1h', RATE_LIMIT_LOGIN_IP: '1000/15m' };

const HANDOFF = '/api/v1/portal/sso/handoff';
const EXCHANGE = '/api/v1/portal/sso/exchange';
const PORTAL_ME = '/api/v1/portal/me';
const PORTAL_COOKIE = 'portal_access_token';
const PORTAL_SECRET = TEST_SECRETS.PORTAL_JWT_PRIVATE_KEY!;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const nowSeconds = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------------------------------------
// Small HTTP helpers
// ---------------------------------------------------------------------------------------------

function handoff(instance: TestInstance, retailerToken: string): Promise<Response> {
  return request(instance.http).post(HANDOFF).set('Authorization', `Bearer ${retailerToken}`);
}

function exchange(instance: TestInstance, code: unknown): Promise<Response> {
  return request(instance.http).post(EXCHANGE).send({ code });
}

function getWithBearer(instance: TestInstance, path: string, token: string): Promise<Response> {
  return request(instance.http).get(path).set('Authorization', `Bearer ${token}`);
}

/** Handoff then exchange: the portal token of a signed-in session. */
async function portalTokenOf(instance: TestInstance, retailerToken: string, exchangeOn: TestInstance = instance): Promise<string> {
  const code = await handoff(instance, retailerToken);
  expect(code.status).toBe(200);
  const res = await exchange(exchangeOn, code.body.data.code);
  expectWorks(res);
  return res.body.data.token;
}

function setCookies(res: Response): string[] {
  return [res.headers['set-cookie'] ?? []].flat() as string[];
}

function sidOf(token: string): string {
  return decodeJwt(token).payload.sid as string;
}

async function auditRows(instance: TestInstance, token: string, event: string): Promise<any[]> {
  const res = await request(instance.http).get('/api/v1/audit-logs').query({ event, limit: 200 }).set('Authorization', `Bearer ${token}`);
  expect(res.status).toBe(200);
  return res.body.data.items;
}

// ---------------------------------------------------------------------------------------------
// One instance, default lifetimes
// ---------------------------------------------------------------------------------------------

describe('portal SSO (one instance)', () => {
  let app: TestInstance;
  let dataSource: DataSource;
  let owner: RegisteredOwner;
  let session: LoggedIn;

  beforeAll(async () => {
    app = await startInstance({ env: BASE_ENV });
    dataSource = app.app.get<DataSource>(getDataSourceToken());
    owner = await registerOwner(app);
    session = await login(app, owner.email);
  });
  afterAll(() => app?.close());

  describe('handoff → exchange → /portal/me', () => {
    it('hands off a single-use code, trades it for a portal token of the same session, and opens /portal/me', async () => {
      const before = Date.now();
      const code = await handoff(app, session.token);
      expect(code.status).toBe(200);
      expect(code.body.success).toBe(true);
      expect(Object.keys(code.body.data).sort()).toEqual(['code', 'expiresAt']);
      expect(code.body.data.code).toEqual(expect.any(String));
      expect(code.body.data.code.length).toBeGreaterThanOrEqual(32);
      expect(code.body.data.expiresAt).toMatch(ISO_UTC);
      // PORTAL_CODE_TTL defaults to 60 s.
      const lifetime = new Date(code.body.data.expiresAt).getTime() - before;
      expect(lifetime).toBeGreaterThan(55_000);
      expect(lifetime).toBeLessThanOrEqual(61_000);

      const res = await exchange(app, code.body.data.code);
      expectWorks(res);
      expect(Object.keys(res.body.data).sort()).toEqual(['expiresAt', 'token']);
      expect(res.body.data.expiresAt).toMatch(ISO_UTC);
      const { header, payload } = decodeJwt(res.body.data.token);
      expect(header).toMatchObject({ alg: 'HS256', kid: kidOf(PORTAL_SECRET) });
      expect(payload).toMatchObject({ sub: owner.retailerId, uid: owner.userId, sid: sidOf(session.token), aud: ['portal'], iss: 'retail-auth' });
      expect(payload.jti).toEqual(expect.any(String));
      // ACCESS_TOKEN_TTL (1 h) by default, and expiresAt is exp.
      expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
      expect(new Date(res.body.data.expiresAt).getTime()).toBe((payload.exp as number) * 1000);

      const me = await getWithBearer(app, PORTAL_ME, res.body.data.token);
      expectWorks(me);
      expect(me.body.data).toEqual({ retailerId: owner.retailerId, userId: owner.userId });
    });

    it('sets the portal token as an HttpOnly, SameSite=Lax cookie on / that expires with it, and /portal/me accepts the cookie alone', async () => {
      const code = await handoff(app, session.token);
      const res = await exchange(app, code.body.data.code);
      expectWorks(res);
      const cookies = setCookies(res);
      const line = cookies.find((c) => c.startsWith(`${PORTAL_COOKIE}=`));
      expect(line).toBeDefined();
      expect(cookieValue(cookies, PORTAL_COOKIE)).toBe(res.body.data.token);
      expect(line).toMatch(/;\s*HttpOnly/i);
      expect(line).toMatch(/;\s*SameSite=Lax/i);
      expect(line).toMatch(/;\s*Path=\/(;|$)/i);
      // The test instances run with COOKIE_SECURE=false; see the suite below for the default.
      expect(line).not.toMatch(/;\s*Secure/i);
      const maxAge = Number(/Max-Age=(\d+)/i.exec(line!)?.[1]);
      expect(maxAge).toBeGreaterThan(3590);
      expect(maxAge).toBeLessThanOrEqual(3600);
      // Only the portal cookie: the dashboard's own cookies are not touched.
      expect(cookies.map((c) => c.split('=')[0])).toEqual([PORTAL_COOKIE]);

      const me = await request(app.http).get(PORTAL_ME).set('Cookie', `${PORTAL_COOKIE}=${res.body.data.token}`);
      expectWorks(me);
      expect(me.body.data).toEqual({ retailerId: owner.retailerId, userId: owner.userId });
    });

    it('answers the exchange with Referrer-Policy: no-referrer, refused or not', async () => {
      const code = await handoff(app, session.token);
      const ok = await exchange(app, code.body.data.code);
      expectWorks(ok);
      expect(ok.headers['referrer-policy']).toBe('no-referrer');
      const refused = await exchange(app, code.body.data.code);
      expectError(refused, 401, 'TOKEN_INVALID');
      expect(refused.headers['referrer-policy']).toBe('no-referrer');
    });

    it('writes portal_handoff and portal_exchange audit rows, and never logs the code or the token', async () => {
      const code = await handoff(app, session.token);
      const res = await exchange(app, code.body.data.code);
      expectWorks(res);
      const handoffs = await auditRows(app, session.token, 'portal_handoff');
      expect(handoffs.find((r) => r.metadata?.sessionId === sidOf(session.token))).toMatchObject({
        event: 'portal_handoff',
        actorType: 'user',
        actorId: owner.userId,
        retailerId: owner.retailerId,
        status: 'success',
      });
      const exchanges = (await auditRows(app, session.token, 'portal_exchange')).filter((r) => r.status === 'success');
      expect(exchanges.find((r) => r.metadata?.jti === decodeJwt(res.body.data.token).payload.jti)).toMatchObject({
        actorType: 'user',
        actorId: owner.userId,
        retailerId: owner.retailerId,
        metadata: { sessionId: sidOf(session.token) },
      });
      expect(app.logs.text).not.toContain(code.body.data.code);
      expect(app.logs.text).not.toContain(res.body.data.token);
    });
  });

  describe('the code is single-use', () => {
    it('refuses a code used a second time with 401 TOKEN_INVALID, and audits the failure', async () => {
      const code = await handoff(app, session.token);
      expectWorks(await exchange(app, code.body.data.code));
      const again = await exchange(app, code.body.data.code);
      expectError(again, 401, 'TOKEN_INVALID');
      // Whoever presents a spent code is anonymous, so the row belongs to no retailer's log: read it directly.
      const rows = await dataSource.query(`SELECT actor_type, status, reason, ip FROM audit_logs WHERE event = 'portal_exchange' AND request_id = $1`, [
        again.headers['x-request-id'],
      ]);
      expect(rows).toEqual([{ actor_type: 'anonymous', status: 'failure', reason: 'TOKEN_INVALID', ip: '127.0.0.1' }]);
    });

    it('lets exactly one of several simultaneous exchanges of a code through', async () => {
      const code = await handoff(app, session.token);
      const answers = await Promise.all(Array.from({ length: 5 }, () => exchange(app, code.body.data.code)));
      const ok = answers.filter((r) => r.status === 200);
      expect(ok).toHaveLength(1);
      for (const res of answers.filter((r) => r.status !== 200)) expectError(res, 401, 'TOKEN_INVALID');
      expectWorks(await getWithBearer(app, PORTAL_ME, ok[0].body.data.token));
    });

    it('refuses an unknown code with 401 TOKEN_INVALID', async () => {
      expectError(await exchange(app, 'not-a-code-this-service-issued'), 401, 'TOKEN_INVALID');
    });

    it('refuses a body without a code, or with unknown fields, with 400 VALIDATION_FAILED', async () => {
      const code = await handoff(app, session.token);
      expectError(await request(app.http).post(EXCHANGE).send({}), 400, 'VALIDATION_FAILED');
      expectError(await exchange(app, 12345), 400, 'VALIDATION_FAILED');
      const extra = await request(app.http).post(EXCHANGE).send({ code: code.body.data.code, retailerId: owner.retailerId });
      expectError(extra, 400, 'VALIDATION_FAILED');
      expect(extra.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'retailerId' })]));
      // A refused body did not burn the code.
      expectWorks(await exchange(app, code.body.data.code));
    });
  });

  describe('the originating session and account', () => {
    it('refuses a code whose dashboard session logged out since with 401 TOKEN_REVOKED', async () => {
      const other = await login(app, owner.email);
      const code = await handoff(app, other.token);
      expectWorks(await request(app.http).post('/api/v1/auth/logout').set('Authorization', `Bearer ${other.token}`));
      expectError(await exchange(app, code.body.data.code), 401, 'TOKEN_REVOKED');
    });

    it('refuses a code of a suspended retailer with 403 ACCOUNT_SUSPENDED', async () => {
      const victim = await registerOwner(app);
      const signedIn = await login(app, victim.email);
      const code = await handoff(app, signedIn.token);
      // No admin route in this suite: suspend as the admin console would, in the database.
      await dataSource.query(`UPDATE retailers SET status = 'suspended' WHERE id = $1`, [victim.retailerId]);
      try {
        expectError(await exchange(app, code.body.data.code), 403, 'ACCOUNT_SUSPENDED');
      } finally {
        await dataSource.query(`UPDATE retailers SET status = 'active' WHERE id = $1`, [victim.retailerId]);
      }
    });

    it('makes the portal token TOKEN_REVOKED when its dashboard session logs out, while other sessions keep theirs', async () => {
      const first = await login(app, owner.email);
      const second = await login(app, owner.email);
      const firstPortal = await portalTokenOf(app, first.token);
      const secondPortal = await portalTokenOf(app, second.token);
      expectWorks(await request(app.http).post('/api/v1/auth/logout').set('Authorization', `Bearer ${first.token}`));
      expectError(await getWithBearer(app, PORTAL_ME, firstPortal), 401, 'TOKEN_REVOKED');
      expectError(await request(app.http).get(PORTAL_ME).set('Cookie', `${PORTAL_COOKIE}=${firstPortal}`), 401, 'TOKEN_REVOKED');
      expectWorks(await getWithBearer(app, PORTAL_ME, secondPortal));
    });
  });

  describe('PortalAuthGuard accepts portal tokens only', () => {
    let portalToken: string;
    beforeAll(async () => {
      portalToken = await portalTokenOf(app, session.token);
    });

    it('refuses the portal token at /auth/me and /reactivate/me with 401 TOKEN_INVALID', async () => {
      expectError(await getWithBearer(app, '/api/v1/auth/me', portalToken), 401, 'TOKEN_INVALID');
      expectError(await getWithBearer(app, '/api/v1/reactivate/me', portalToken), 401, 'TOKEN_INVALID');
      // Nor can it mint another code or a reactivate token.
      expectError(await handoff(app, portalToken), 401, 'TOKEN_INVALID');
      expectError(await request(app.http).post('/api/v1/reactivate/auth/token').set('Authorization', `Bearer ${portalToken}`), 401, 'TOKEN_INVALID');
    });

    it('refuses a retailer access token at /portal/me with 401 TOKEN_INVALID, as Bearer or in the portal cookie', async () => {
      expectError(await getWithBearer(app, PORTAL_ME, session.token), 401, 'TOKEN_INVALID');
      expectError(await request(app.http).get(PORTAL_ME).set('Cookie', `${PORTAL_COOKIE}=${session.token}`), 401, 'TOKEN_INVALID');
      // The retailer's own cookie means nothing here.
      expectError(await request(app.http).get(PORTAL_ME).set('Cookie', session.cookies.map((c) => c.split(';')[0]).join('; ')), 401, 'TOKEN_MISSING');
    });

    it('answers no token with 401 TOKEN_MISSING, and never reads a token from the query string', async () => {
      expectError(await request(app.http).get(PORTAL_ME), 401, 'TOKEN_MISSING');
      for (const name of ['token', 'access_token', PORTAL_COOKIE]) {
        expectError(await request(app.http).get(PORTAL_ME).query({ [name]: portalToken }), 401, 'TOKEN_MISSING');
      }
      expectError(await request(app.http).post(HANDOFF), 401, 'TOKEN_MISSING');
    });

    it('lets the Bearer token win over the cookie', async () => {
      const res = await request(app.http).get(PORTAL_ME).set('Authorization', `Bearer ${session.token}`).set('Cookie', `${PORTAL_COOKIE}=${portalToken}`);
      expectError(res, 401, 'TOKEN_INVALID');
    });

    it('refuses forged portal tokens: a missing claim, another audience, another key, alg none; a past exp is TOKEN_EXPIRED', async () => {
      const claims = { sub: owner.retailerId, uid: owner.userId, sid: sidOf(session.token), iss: 'retail-auth', aud: ['portal'], iat: nowSeconds(), exp: nowSeconds() + 600, jti: 'forged-1' };
      const header = { alg: 'HS256', typ: 'JWT', kid: kidOf(PORTAL_SECRET) };
      // The forge itself is right: with every claim in place the token works.
      expectWorks(await getWithBearer(app, PORTAL_ME, forgeJwt({ header, payload: claims, secret: PORTAL_SECRET })));

      const { uid: _uid, ...withoutUid } = claims;
      expectError(await getWithBearer(app, PORTAL_ME, forgeJwt({ header, payload: withoutUid, secret: PORTAL_SECRET })), 401, 'TOKEN_INVALID');
      expectError(await getWithBearer(app, PORTAL_ME, forgeJwt({ header, payload: { ...claims, sid: 42 }, secret: PORTAL_SECRET })), 401, 'TOKEN_INVALID');
      expectError(await getWithBearer(app, PORTAL_ME, forgeJwt({ header, payload: { ...claims, aud: ['retailer'] }, secret: PORTAL_SECRET })), 401, 'TOKEN_INVALID');
      const retailerSecret = TEST_SECRETS.RETAILER_JWT_PRIVATE_KEY!;
      expectError(await getWithBearer(app, PORTAL_ME, forgeJwt({ header: { ...header, kid: kidOf(retailerSecret) }, payload: claims, secret: retailerSecret })), 401, 'TOKEN_INVALID');
      expectError(await getWithBearer(app, PORTAL_ME, forgeJwt({ header: { alg: 'none', kid: kidOf(PORTAL_SECRET) }, payload: claims })), 401, 'TOKEN_INVALID');
      const { exp: _exp, ...withoutExp } = claims;
      expectError(await getWithBearer(app, PORTAL_ME, forgeJwt({ header, payload: withoutExp, secret: PORTAL_SECRET })), 401, 'TOKEN_INVALID');
      const past = { ...claims, iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 };
      expectError(await getWithBearer(app, PORTAL_ME, forgeJwt({ header, payload: past, secret: PORTAL_SECRET })), 401, 'TOKEN_EXPIRED');
    });
  });

  describe('an impersonating admin', () => {
    /**
     * An admin token with `act.sub` and full access, for the owner's retailer. Until the admin
     * console's routes exist, its rows are written as POST /admin/impersonations would write them
     * and the token is signed with the admin key as the service signs it.
     */
    async function impersonationToken(): Promise<string> {
      const [admin] = await dataSource.query(`INSERT INTO admins (email, full_access) VALUES ($1, true) RETURNING id`, [`staff.${randomUUID()}@platform.example`]);
      const jti = randomUUID();
      const [imp] = await dataSource.query(
        `INSERT INTO impersonations (admin_id, retailer_id, acting_user_id, reason, full_access, jti, expires_at)
         VALUES ($1, $2, $3, 'support ticket 4711', true, $4, now() + interval '1 hour') RETURNING id`,
        [admin.id, owner.retailerId, owner.userId, jti],
      );
      const adminSecret = TEST_SECRETS.ADMIN_JWT_PRIVATE_KEY!;
      return forgeJwt({
        header: { alg: 'HS256', typ: 'JWT', kid: kidOf(adminSecret) },
        payload: { sub: admin.id, fullAccess: true, act: { sub: owner.retailerId }, sid: imp.id, iss: 'retail-auth', aud: ['retailer'], iat: nowSeconds(), exp: nowSeconds() + 600, jti },
        secret: adminSecret,
      });
    }

    it('can read as the retailer but cannot mint a portal code or a reactivate token (403 FORBIDDEN)', async () => {
      const token = await impersonationToken();
      // The token is a working impersonation...
      expectWorks(await getWithBearer(app, '/api/v1/auth/me', token));
      // ...that may not create the retailer's credentials, even with full access.
      expectError(await handoff(app, token), 403, 'FORBIDDEN');
      expectError(await request(app.http).post('/api/v1/reactivate/auth/token').set('Authorization', `Bearer ${token}`), 403, 'FORBIDDEN');
      // And the portal guard does not take it at all.
      expectError(await getWithBearer(app, PORTAL_ME, token), 401, 'TOKEN_INVALID');
    });
  });

  it('documents the portal routes in OpenAPI, /portal/me under the portal Bearer scheme', async () => {
    const doc = (await request(app.http).get('/api/v1/docs-json').expect(200)).body;
    expect(doc.paths['/api/v1/portal/me'].get.security).toEqual([{ portal: [] }]);
    expect(doc.paths['/api/v1/portal/me'].get.tags).toEqual(['portal']);
    expect(doc.paths['/api/v1/portal/sso/handoff'].post.security).toEqual([{ retailer: [] }]);
    expect(doc.paths['/api/v1/portal/sso/exchange'].post.summary).toEqual(expect.any(String));
  });
});

// ---------------------------------------------------------------------------------------------
// A one-second code lifetime, and the default (Secure) cookie
// ---------------------------------------------------------------------------------------------

describe('portal SSO with PORTAL_CODE_TTL=1s and COOKIE_SECURE on', () => {
  let app: TestInstance;
  let session: LoggedIn;

  beforeAll(async () => {
    app = await startInstance({ env: { ...BASE_ENV, PORTAL_CODE_TTL: '1s', COOKIE_SECURE: 'true' } });
    const owner = await registerOwner(app);
    session = await login(app, owner.email);
  });
  afterAll(() => app?.close());

  it('refuses a code after its lifetime with 401 TOKEN_INVALID', async () => {
    const code = await handoff(app, session.token);
    expect(code.status).toBe(200);
    expect(new Date(code.body.data.expiresAt).getTime() - Date.now()).toBeLessThanOrEqual(1000);
    await sleep(1200);
    const res = await exchange(app, code.body.data.code);
    expectError(res, 401, 'TOKEN_INVALID');
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('marks the portal cookie Secure unless COOKIE_SECURE=false', async () => {
    const code = await handoff(app, session.token);
    const res = await exchange(app, code.body.data.code);
    expectWorks(res);
    const line = setCookies(res).find((c) => c.startsWith(`${PORTAL_COOKIE}=`));
    expect(line).toMatch(/;\s*Secure/i);
    expect(line).toMatch(/;\s*HttpOnly/i);
  });
});

// ---------------------------------------------------------------------------------------------
// Two instances sharing Postgres and Redis
// ---------------------------------------------------------------------------------------------

// Two instances only share revocations through Redis (without it they converge at the 15 s resync).
const describeTwoInstances = hasRedis() ? describe : describe.skip; // reason: no Redis reachable in this run

describeTwoInstances('portal SSO across two instances', () => {
  let a: TestInstance;
  let b: TestInstance;

  beforeAll(async () => {
    a = await startInstance({ env: BASE_ENV });
    b = await startInstance({ env: BASE_ENV });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('trades a code handed off on one instance on the other, once', async () => {
    const owner = await registerOwner(a);
    const session = await login(a, owner.email);
    const code = await handoff(a, session.token);
    const [first, second] = await Promise.all([exchange(b, code.body.data.code), exchange(a, code.body.data.code)]);
    expect([first.status, second.status].sort()).toEqual([200, 401]);
    const token = (first.status === 200 ? first : second).body.data.token;
    for (const instance of [a, b]) expect((await getWithBearer(instance, PORTAL_ME, token)).body.data).toEqual({ retailerId: owner.retailerId, userId: owner.userId });
  });

  it('makes the portal and reactivate tokens of a session TOKEN_REVOKED on the other instance within 1 s of a dashboard logout', async () => {
    const owner = await registerOwner(a);
    const session = await login(a, owner.email);
    const portalToken = await portalTokenOf(a, session.token, b);
    const reactivate = await request(a.http).post('/api/v1/reactivate/auth/token').set('Authorization', `Bearer ${session.token}`);
    expectWorks(reactivate);
    const reactivateToken = reactivate.body.data.token as string;
    for (const instance of [a, b]) {
      expectWorks(await getWithBearer(instance, PORTAL_ME, portalToken));
      expectWorks(await getWithBearer(instance, '/api/v1/reactivate/me', reactivateToken));
    }

    expectWorks(await request(a.http).post('/api/v1/auth/logout').set('Authorization', `Bearer ${session.token}`));

    await expectCodeWithin(() => getWithBearer(b, PORTAL_ME, portalToken), 401, 'TOKEN_REVOKED');
    await expectCodeWithin(() => request(b.http).get(PORTAL_ME).set('Cookie', `${PORTAL_COOKIE}=${portalToken}`), 401, 'TOKEN_REVOKED');
    await expectCodeWithin(() => getWithBearer(b, '/api/v1/reactivate/me', reactivateToken), 401, 'TOKEN_REVOKED');
    expectError(await getWithBearer(a, PORTAL_ME, portalToken), 401, 'TOKEN_REVOKED');
    expectError(await getWithBearer(a, '/api/v1/reactivate/me', reactivateToken), 401, 'TOKEN_REVOKED');
  });

  it('makes the portal token TOKEN_REVOKED on the other instance within 1 s when its session is terminated from another device', async () => {
    const owner = await registerOwner(a);
    const victim = await login(a, owner.email);
    const other = await login(a, owner.email);
    const portalToken = await portalTokenOf(a, victim.token);
    expectWorks(await getWithBearer(b, PORTAL_ME, portalToken));
    expectWorks(await request(a.http).delete(`/api/v1/auth/sessions/${sidOf(victim.token)}`).set('Authorization', `Bearer ${other.token}`));
    await expectCodeWithin(() => getWithBearer(b, PORTAL_ME, portalToken), 401, 'TOKEN_REVOKED');
  });
});
