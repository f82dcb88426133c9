import request, { Response } from 'supertest';
import { cookieValue, login, LoggedIn, registerOwner, RegisteredOwner } from '../factories/retailer.factory';
import { expectCodeWithin, expectError, expectWorks } from '../support/expectations';
import { decodeJwt, forgeJwt, kidOf } from '../support/jwt-forge';
import { hasRedis, startInstance, TEST_SECRETS, TestInstance } from '../support/test-app';

/**
 * The Reactivate token as the dashboard and Reactivate use it, over HTTP: a signed-in user gets a
 * reactivate token (Bearer only, no cookie) that opens GET /reactivate/me and nothing else, not
 * even the marketing routes (those take reactivate API keys), and that dies with the dashboard
 * session it came from, on every instance.
 */

// Every suite of the run registers and signs in from 127.0.0.1: keep the per-IP limits out of the way.
const BASE_ENV = { RATE_LIMIT_REGISTER_IP: '1000/1h', RATE_LIMIT_LOGIN_IP: '1000/15m' };

const ISSUE = '/api/v1/reactivate/auth/token';
const REACTIVATE_ME = '/api/v1/reactivate/me';
const MARKETING_ME = '/api/v1/reactivate/marketing/me';
const REACTIVATE_SECRET = TEST_SECRETS.REACTIVATE_JWT_PRIVATE_KEY!;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

const nowSeconds = () => Math.floor(Date.now() / 1000);

function issue(instance: TestInstance, retailerToken: string): Promise<Response> {
  return request(instance.http).post(ISSUE).set('Authorization', `Bearer ${retailerToken}`);
}

function getWithBearer(instance: TestInstance, path: string, token: string): Promise<Response> {
  return request(instance.http).get(path).set('Authorization', `Bearer ${token}`);
}

async function reactivateTokenOf(instance: TestInstance, retailerToken: string): Promise<string> {
  const res = await issue(instance, retailerToken);
  expectWorks(res);
  return res.body.data.token;
}

function sidOf(token: string): string {
  return decodeJwt(token).payload.sid as string;
}

/** The session's cookies as a browser would send them back. */
function cookieHeader(session: LoggedIn): string {
  return session.cookies.map((c) => c.split(';')[0]).join('; ');
}

describe('reactivate token (one instance)', () => {
  let app: TestInstance;
  let owner: RegisteredOwner;
  let session: LoggedIn;

  beforeAll(async () => {
    app = await startInstance({ env: BASE_ENV });
    owner = await registerOwner(app);
    session = await login(app, owner.email);
  });
  afterAll(() => app?.close());

  it('issues a reactivate token of the caller\'s session that opens /reactivate/me', async () => {
    const res = await issue(app, session.token);
    expectWorks(res);
    expect(res.body.success).toBe(true);
    expect(Object.keys(res.body.data).sort()).toEqual(['expiresAt', 'token']);
    expect(res.body.data.expiresAt).toMatch(ISO_UTC);
    // Bearer only: no cookie is set for it.
    expect(res.headers['set-cookie']).toBeUndefined();

    const { header, payload } = decodeJwt(res.body.data.token);
    expect(header).toMatchObject({ alg: 'HS256', kid: kidOf(REACTIVATE_SECRET) });
    expect(payload).toMatchObject({ sub: owner.retailerId, uid: owner.userId, sid: sidOf(session.token), aud: ['reactivate'], iss: 'retail-auth' });
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
    expect(new Date(res.body.data.expiresAt).getTime()).toBe((payload.exp as number) * 1000);

    const me = await getWithBearer(app, REACTIVATE_ME, res.body.data.token);
    expectWorks(me);
    expect(me.body.data).toEqual({ retailerId: owner.retailerId, userId: owner.userId });
  });

  it('writes a reactivate_token_issued audit row, and never logs the token', async () => {
    const token = await reactivateTokenOf(app, session.token);
    const rows = await request(app.http)
      .get('/api/v1/audit-logs')
      .query({ event: 'reactivate_token_issued', limit: 200 })
      .set('Authorization', `Bearer ${session.token}`);
    expect(rows.status).toBe(200);
    expect(rows.body.data.items.find((r: any) => r.metadata?.jti === decodeJwt(token).payload.jti)).toMatchObject({
      event: 'reactivate_token_issued',
      actorType: 'user',
      actorId: owner.userId,
      retailerId: owner.retailerId,
      status: 'success',
      metadata: { sessionId: sidOf(session.token) },
    });
    expect(app.logs.text).not.toContain(token);
  });

  it('is issued to a cookie-authenticated dashboard only with the CSRF header', async () => {
    const csrf = cookieValue(session.cookies, 'csrf_token')!;
    expectError(await request(app.http).post(ISSUE).set('Cookie', cookieHeader(session)), 403, 'CSRF_FAILED');
    const res = await request(app.http).post(ISSUE).set('Cookie', cookieHeader(session)).set('X-CSRF-Token', csrf);
    expectWorks(res);
    expectWorks(await getWithBearer(app, REACTIVATE_ME, res.body.data.token));
  });

  describe('ReactivateAuthGuard accepts reactivate tokens, as Bearer, only', () => {
    let reactivateToken: string;
    let portalToken: string;
    beforeAll(async () => {
      reactivateToken = await reactivateTokenOf(app, session.token);
      const code = await request(app.http).post('/api/v1/portal/sso/handoff').set('Authorization', `Bearer ${session.token}`);
      portalToken = (await request(app.http).post('/api/v1/portal/sso/exchange').send({ code: code.body.data.code })).body.data.token;
      expect(portalToken).toEqual(expect.any(String));
    });

    it('refuses the reactivate token at /portal/me and /auth/me with 401 TOKEN_INVALID', async () => {
      expectError(await getWithBearer(app, '/api/v1/portal/me', reactivateToken), 401, 'TOKEN_INVALID');
      expectError(await getWithBearer(app, '/api/v1/auth/me', reactivateToken), 401, 'TOKEN_INVALID');
      // Nor can it mint another token or a portal code.
      expectError(await issue(app, reactivateToken), 401, 'TOKEN_INVALID');
      expectError(await request(app.http).post('/api/v1/portal/sso/handoff').set('Authorization', `Bearer ${reactivateToken}`), 401, 'TOKEN_INVALID');
    });

    it('refuses a retailer access token and a portal token at /reactivate/me with 401 TOKEN_INVALID', async () => {
      expectError(await getWithBearer(app, REACTIVATE_ME, session.token), 401, 'TOKEN_INVALID');
      expectError(await getWithBearer(app, REACTIVATE_ME, portalToken), 401, 'TOKEN_INVALID');
    });

    it('refuses the reactivate token at /reactivate/marketing/me, which takes reactivate API keys only', async () => {
      expectError(await getWithBearer(app, MARKETING_ME, reactivateToken), 401, 'TOKEN_INVALID');
      expectError(await request(app.http).get(MARKETING_ME).set('X-API-Key', reactivateToken), 401, 'TOKEN_INVALID');
      // The marketing route itself is unchanged: a reactivate key still opens it.
      const key = await request(app.http)
        .post('/api/v1/api-keys')
        .set('Authorization', `Bearer ${session.token}`)
        .send({ name: 'marketing', type: 'reactivate', scopes: ['reactivate:marketing'] })
        .expect(201);
      const res = await request(app.http).get(MARKETING_ME).set('X-API-Key', key.body.data.key);
      expectWorks(res);
      expect(res.body.data).toEqual({ retailerId: owner.retailerId, keyId: key.body.data.id });
    });

    it('answers no token with 401 TOKEN_MISSING, and reads it from neither the query string nor a cookie', async () => {
      expectError(await request(app.http).get(REACTIVATE_ME), 401, 'TOKEN_MISSING');
      for (const name of ['token', 'access_token', 'reactivate_token']) {
        expectError(await request(app.http).get(REACTIVATE_ME).query({ [name]: reactivateToken }), 401, 'TOKEN_MISSING');
      }
      for (const name of ['reactivate_access_token', 'portal_access_token', 'retailer_access_token']) {
        expectError(await request(app.http).get(REACTIVATE_ME).set('Cookie', `${name}=${reactivateToken}`), 401, 'TOKEN_MISSING');
      }
      expectError(await request(app.http).post(ISSUE), 401, 'TOKEN_MISSING');
    });

    it('refuses forged reactivate tokens: a missing claim, another audience, another key; a past exp is TOKEN_EXPIRED', async () => {
      const claims = { sub: owner.retailerId, uid: owner.userId, sid: sidOf(session.token), iss: 'retail-auth', aud: ['reactivate'], iat: nowSeconds(), exp: nowSeconds() + 600, jti: 'forged-r1' };
      const header = { alg: 'HS256', typ: 'JWT', kid: kidOf(REACTIVATE_SECRET) };
      expectWorks(await getWithBearer(app, REACTIVATE_ME, forgeJwt({ header, payload: claims, secret: REACTIVATE_SECRET })));

      const { sid: _sid, ...withoutSid } = claims;
      expectError(await getWithBearer(app, REACTIVATE_ME, forgeJwt({ header, payload: withoutSid, secret: REACTIVATE_SECRET })), 401, 'TOKEN_INVALID');
      expectError(await getWithBearer(app, REACTIVATE_ME, forgeJwt({ header, payload: { ...claims, aud: ['portal'] }, secret: REACTIVATE_SECRET })), 401, 'TOKEN_INVALID');
      expectError(await getWithBearer(app, REACTIVATE_ME, forgeJwt({ header, payload: { ...claims, iss: 'someone-else' }, secret: REACTIVATE_SECRET })), 401, 'TOKEN_INVALID');
      const portalSecret = TEST_SECRETS.PORTAL_JWT_PRIVATE_KEY!;
      expectError(await getWithBearer(app, REACTIVATE_ME, forgeJwt({ header: { ...header, kid: kidOf(portalSecret) }, payload: claims, secret: portalSecret })), 401, 'TOKEN_INVALID');
      expectError(await getWithBearer(app, REACTIVATE_ME, forgeJwt({ header: { ...header, alg: 'HS512' }, payload: claims, secret: REACTIVATE_SECRET })), 401, 'TOKEN_INVALID');
      const past = { ...claims, iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 };
      expectError(await getWithBearer(app, REACTIVATE_ME, forgeJwt({ header, payload: past, secret: REACTIVATE_SECRET })), 401, 'TOKEN_EXPIRED');
    });
  });

  it('makes the reactivate token TOKEN_REVOKED when its dashboard session logs out, while other sessions keep theirs', async () => {
    const first = await login(app, owner.email);
    const second = await login(app, owner.email);
    const firstToken = await reactivateTokenOf(app, first.token);
    const secondToken = await reactivateTokenOf(app, second.token);
    expectWorks(await request(app.http).post('/api/v1/auth/logout').set('Authorization', `Bearer ${first.token}`));
    expectError(await getWithBearer(app, REACTIVATE_ME, firstToken), 401, 'TOKEN_REVOKED');
    expectWorks(await getWithBearer(app, REACTIVATE_ME, secondToken));
  });

  it('documents the reactivate routes in OpenAPI, /reactivate/me under the reactivate Bearer scheme', async () => {
    const doc = (await request(app.http).get('/api/v1/docs-json').expect(200)).body;
    expect(doc.paths['/api/v1/reactivate/me'].get.security).toEqual([{ reactivate: [] }]);
    expect(doc.paths['/api/v1/reactivate/me'].get.tags).toEqual(['reactivate']);
    expect(doc.paths['/api/v1/reactivate/auth/token'].post.security).toEqual([{ retailer: [] }]);
    expect(doc.paths['/api/v1/reactivate/marketing/me'].get.security).toEqual([{ 'api-key': [] }]);
  });
});

// Two instances only share revocations through Redis (without it they converge at the 15 s resync).
const describeTwoInstances = hasRedis() ? describe : describe.skip; // reason: no Redis reachable in this run

describeTwoInstances('reactivate token across two instances', () => {
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

  it('is accepted by both instances, and TOKEN_REVOKED on the other within 1 s of a dashboard logout', async () => {
    const owner = await registerOwner(a);
    const session = await login(a, owner.email);
    const token = await reactivateTokenOf(a, session.token);
    for (const instance of [a, b]) expect((await getWithBearer(instance, REACTIVATE_ME, token)).body.data).toEqual({ retailerId: owner.retailerId, userId: owner.userId });

    expectWorks(await request(b.http).post('/api/v1/auth/logout').set('Authorization', `Bearer ${session.token}`));

    await expectCodeWithin(() => getWithBearer(a, REACTIVATE_ME, token), 401, 'TOKEN_REVOKED');
    expectError(await getWithBearer(b, REACTIVATE_ME, token), 401, 'TOKEN_REVOKED');
  });

  it('is TOKEN_REVOKED on every instance within 1 s of a password change on another session', async () => {
    const owner = await registerOwner(a);
    const phone = await login(a, owner.email);
    const laptop = await login(a, owner.email);
    const token = await reactivateTokenOf(b, phone.token);
    expectWorks(await getWithBearer(a, REACTIVATE_ME, token));
    const change = await request(a.http)
      .post('/api/v1/auth/password/change')
      .set('Authorization', `Bearer ${laptop.token}`)
      .send({ currentPassword: owner.password, newPassword: 'an entirely new passphrase 77' });
    expectWorks(change);
    await expectCodeWithin(() => getWithBearer(b, REACTIVATE_ME, token), 401, 'TOKEN_REVOKED');
    await expectCodeWithin(() => getWithBearer(a, REACTIVATE_ME, token), 401, 'TOKEN_REVOKED');
  });
});
