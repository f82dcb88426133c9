import { randomBytes, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request, { Response } from 'supertest';
import { cookieValue, LoggedIn, login, registerOwner, RegisteredOwner } from '../factories/retailer.factory';
import { decodeJwt, forgeJwt, JwtHeader, JwtPayload, kidOf, withPayloadKeepingSignature } from '../support/jwt-forge';
import { hasRedis, startInstance, TEST_SECRETS, TestInstance } from '../support/test-app';

/**
 * The retailer access token, attacked from outside over HTTP: every forged, mislabelled,
 * misplaced or revoked variant of a real token must be refused at RetailerAuthGuard with the
 * contract's code, every refusal must be logged (request id + reason, never the token), and the
 * cookie transport must keep its flags and its CSRF double-submit rule.
 */

const ME = '/api/v1/auth/me';
const LOGOUT = '/api/v1/auth/logout';
const ACCESS_COOKIE = 'retailer_access_token';
const REFRESH_COOKIE = 'retailer_refresh_token';
const CSRF_COOKIE = 'csrf_token';

const RETAILER_SECRET = TEST_SECRETS.RETAILER_JWT_PRIVATE_KEY!;
const RETAILER_KID = kidOf(RETAILER_SECRET);
const OTHER_TYPE_SECRETS = ['ADMIN', 'PORTAL', 'BRIDGE', 'REACTIVATE'].map((type) => ({
  type,
  secret: TEST_SECRETS[`${type}_JWT_PRIVATE_KEY`]!,
}));

/**
 * Rate limits are not under test here, and their per-IP counters are shared by every suite of the
 * run (one Redis prefix, one client address): lift them so this file does not depend on how many
 * registrations and logins other suites made before it.
 */
const BASE_ENV = { RATE_LIMIT_REGISTER_IP: '1000/1h', RATE_LIMIT_LOGIN_IP: '1000/15m' };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const nowSeconds = () => Math.floor(Date.now() / 1000);
const garbage = () => `garbage-${randomBytes(12).toString('hex')}`;

/** Every refusal this file provokes, checked against the instance logs at the end. */
interface Refusal {
  instance: TestInstance;
  requestId: string;
  code: string;
}
const refusals: Refusal[] = [];
/** Every token text this file sent (real and forged): none may ever reach a log. */
const presentedTokens = new Set<string>();
const instancesUsed = new Set<TestInstance>();

function present(token: string): string {
  presentedTokens.add(token);
  return token;
}

/** Asserts the status and error code, and remembers the refusal for the logging checks. */
function expectRefused(instance: TestInstance, res: Response, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
  expect(res.body.success).toBe(false);
  const requestId = res.headers['x-request-id'];
  expect(requestId).toEqual(expect.any(String));
  refusals.push({ instance, requestId, code });
}

function meWithBearer(instance: TestInstance, token: string) {
  return request(instance.http).get(ME).set('Authorization', `Bearer ${present(token)}`);
}

function meWithCookie(instance: TestInstance, token: string) {
  return request(instance.http).get(ME).set('Cookie', `${ACCESS_COOKIE}=${present(token)}`);
}

interface ParsedSetCookie {
  name: string;
  value: string;
  /** Attribute names lower-cased; flags (HttpOnly, Secure) map to true. */
  attrs: Record<string, string | true>;
}

function setCookies(res: Response): ParsedSetCookie[] {
  const raw = [res.headers['set-cookie'] ?? []].flat() as string[];
  return raw.map((line) => {
    const [pair, ...rest] = line.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    const attrs: Record<string, string | true> = {};
    for (const part of rest) {
      const at = part.indexOf('=');
      if (at < 0) attrs[part.toLowerCase()] = true;
      else attrs[part.slice(0, at).toLowerCase()] = part.slice(at + 1);
    }
    return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attrs };
  });
}

function setCookie(res: Response, name: string): ParsedSetCookie {
  const found = setCookies(res).filter((c) => c.name === name);
  expect(found.map((c) => c.name)).toEqual([name]);
  return found[0];
}

/** A cleared cookie: empty value and an expiry in the past (Expires) or Max-Age=0. */
function isCleared(cookie: ParsedSetCookie): boolean {
  const expires = typeof cookie.attrs.expires === 'string' ? Date.parse(cookie.attrs.expires) : NaN;
  const maxAge = typeof cookie.attrs['max-age'] === 'string' ? Number(cookie.attrs['max-age']) : NaN;
  return cookie.value === '' && ((!Number.isNaN(expires) && expires < Date.now()) || maxAge <= 0);
}

describe('retailer access token security', () => {
  let instance: TestInstance;
  let owner: RegisteredOwner;
  let session: LoggedIn;
  /** The claims of the real token of `session`, a live session. */
  let realPayload: JwtPayload;
  let realHeader: JwtHeader;

  /** Claims of the real token, freshly dated and with a new jti, plus/minus overrides (undefined removes). */
  function claims(overrides: JwtPayload = {}): JwtPayload {
    const now = nowSeconds();
    const merged: JwtPayload = { ...realPayload, iat: now, exp: now + 3600, jti: randomUUID(), ...overrides };
    for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
    return merged;
  }

  /** A token signed like the service's own (HS256, retailer secret and kid) unless overridden. */
  function sign(overrides: { payload?: JwtPayload; header?: JwtHeader; secret?: string } = {}): string {
    const header: JwtHeader = { alg: 'HS256', typ: 'JWT', kid: RETAILER_KID, ...overrides.header };
    for (const key of Object.keys(header)) if (header[key] === undefined) delete header[key];
    return forgeJwt({ header, payload: claims(overrides.payload), secret: overrides.secret ?? RETAILER_SECRET });
  }

  /**
   * Closes an instance started next to the main one. (Passport's strategy registry is global to
   * the process; the service reads each request's keys and revocations from its own instance
   * through AuthContext, so closing another instance must not affect this one — which this
   * also checks, as the main instance keeps being used afterwards.)
   */
  async function closeExtraInstance(extra: TestInstance): Promise<void> {
    await extra.close();
  }

  async function refusedAtMe(token: string, code: string): Promise<void> {
    expectRefused(instance, await meWithBearer(instance, token), 401, code);
  }

  beforeAll(async () => {
    instance = await startInstance({ env: BASE_ENV });
    instancesUsed.add(instance);
    owner = await registerOwner(instance);
    session = await login(instance, owner.email);
    present(session.token);
    ({ header: realHeader, payload: realPayload } = decodeJwt(session.token));
  });
  afterAll(() => instance?.close());

  describe('the real token and the forging helper (controls)', () => {
    it('has the contract claims: HS256, kid of the retailer secret, iss, aud ["retailer"], sub/uid/sid/role/perms, iat/exp/jti', () => {
      expect(realHeader).toMatchObject({ alg: 'HS256', kid: RETAILER_KID });
      expect(realPayload).toMatchObject({
        sub: owner.retailerId,
        uid: owner.userId,
        sid: expect.any(String),
        role: 'owner',
        perms: expect.any(Array),
        iss: instance.config.jwt.issuer,
        aud: ['retailer'],
        iat: expect.any(Number),
        exp: expect.any(Number),
        jti: expect.any(String),
      });
    });

    it('accepts the real token as Bearer (200)', async () => {
      const res = await meWithBearer(instance, session.token).expect(200);
      expect(res.body.data.user.id).toBe(owner.userId);
      expect(res.body.data.retailer.id).toBe(owner.retailerId);
    });

    it('accepts the real token as the retailer_access_token cookie (200)', async () => {
      const res = await meWithCookie(instance, session.token).expect(200);
      expect(res.body.data.user.id).toBe(owner.userId);
    });

    it('accepts a token forged here with the retailer secret and kid and the contract claims (so the refusals below are meaningful)', async () => {
      await meWithBearer(instance, sign()).expect(200);
      const viaJsonwebtoken = jwt.sign(claims(), RETAILER_SECRET, { algorithm: 'HS256', keyid: RETAILER_KID });
      await meWithBearer(instance, viaJsonwebtoken).expect(200);
    });
  });

  describe('algorithm', () => {
    it('refuses an unsigned token (alg "none") with TOKEN_INVALID', async () => {
      const unsigned = forgeJwt({ header: { alg: 'none', typ: 'JWT', kid: RETAILER_KID }, payload: claims() });
      await refusedAtMe(unsigned, 'TOKEN_INVALID');
      // Also the case-variant and a bare two-segment form.
      await refusedAtMe(forgeJwt({ header: { alg: 'None', kid: RETAILER_KID }, payload: claims() }), 'TOKEN_INVALID');
      await refusedAtMe(unsigned.slice(0, -1), 'TOKEN_INVALID');
    });

    it('refuses a token re-signed with HS512 and the right secret with TOKEN_INVALID', async () => {
      await refusedAtMe(sign({ header: { alg: 'HS512' } }), 'TOKEN_INVALID');
      const viaJsonwebtoken = jwt.sign(claims(), RETAILER_SECRET, { algorithm: 'HS512', keyid: RETAILER_KID });
      await refusedAtMe(viaJsonwebtoken, 'TOKEN_INVALID');
    });

    it('refuses an RS256-labelled token (HMAC-signed with the retailer secret: key confusion) with TOKEN_INVALID', async () => {
      const confused = forgeJwt({ header: { alg: 'RS256', typ: 'JWT', kid: RETAILER_KID }, payload: claims(), secret: RETAILER_SECRET, hmac: 'sha256' });
      await refusedAtMe(confused, 'TOKEN_INVALID');
    });
  });

  describe('signature and key', () => {
    it('refuses the real token with `sub` changed but its signature kept, with TOKEN_INVALID', async () => {
      const tampered = withPayloadKeepingSignature(session.token, { ...realPayload, sub: randomUUID() });
      await refusedAtMe(tampered, 'TOKEN_INVALID');
    });

    it('refuses the real token with `role` changed but its signature kept, with TOKEN_INVALID', async () => {
      const tampered = withPayloadKeepingSignature(session.token, { ...realPayload, role: 'superadmin', perms: ['*'] });
      await refusedAtMe(tampered, 'TOKEN_INVALID');
    });

    it('refuses the real token with its signature cut off or replaced, with TOKEN_INVALID', async () => {
      const [h, p] = session.token.split('.');
      await refusedAtMe(`${h}.${p}.`, 'TOKEN_INVALID');
      await refusedAtMe(`${h}.${p}.${randomBytes(32).toString('base64url')}`, 'TOKEN_INVALID');
    });

    for (const { type, secret } of OTHER_TYPE_SECRETS) {
      it(`refuses a retailer-shaped token signed with the ${type} secret and the ${type} kid, with TOKEN_INVALID`, async () => {
        await refusedAtMe(sign({ secret, header: { kid: kidOf(secret) } }), 'TOKEN_INVALID');
      });

      it(`refuses a retailer-shaped token signed with the ${type} secret under the retailer kid, with TOKEN_INVALID`, async () => {
        await refusedAtMe(sign({ secret, header: { kid: RETAILER_KID } }), 'TOKEN_INVALID');
      });
    }

    it('refuses a token whose kid is unknown, with TOKEN_INVALID', async () => {
      await refusedAtMe(sign({ header: { kid: kidOf('a-secret-this-service-never-had-0123456789') } }), 'TOKEN_INVALID');
      await refusedAtMe(sign({ header: { kid: 12345 } }), 'TOKEN_INVALID');
    });

    it('refuses a token with no kid header, with TOKEN_INVALID', async () => {
      await refusedAtMe(sign({ header: { kid: undefined } }), 'TOKEN_INVALID');
    });

    for (const [name, value] of [
      ['jku', 'https://attacker.example/jwks.json'],
      ['x5u', 'https://attacker.example/cert.pem'],
      ['jwk', { kty: 'oct', k: Buffer.from(RETAILER_SECRET).toString('base64url') }],
    ] as const) {
      it(`refuses an otherwise valid token carrying a \`${name}\` header, with TOKEN_INVALID`, async () => {
        await refusedAtMe(sign({ header: { [name]: value } }), 'TOKEN_INVALID');
      });
    }
  });

  describe('audience and issuer', () => {
    it('refuses a well-signed token for audience ["portal"], with TOKEN_INVALID', async () => {
      await refusedAtMe(sign({ payload: { aud: ['portal'] } }), 'TOKEN_INVALID');
    });

    it('refuses a well-signed token with no audience, with TOKEN_INVALID', async () => {
      await refusedAtMe(sign({ payload: { aud: undefined } }), 'TOKEN_INVALID');
    });

    it('refuses a well-signed token from another issuer, with TOKEN_INVALID', async () => {
      await refusedAtMe(sign({ payload: { iss: 'someone-else' } }), 'TOKEN_INVALID');
      await refusedAtMe(sign({ payload: { iss: undefined } }), 'TOKEN_INVALID');
    });
  });

  describe('lifetime and identity claims', () => {
    it('refuses a well-signed token without `exp`, with TOKEN_INVALID', async () => {
      await refusedAtMe(sign({ payload: { exp: undefined } }), 'TOKEN_INVALID');
    });

    it('refuses a well-signed token past its `exp` with TOKEN_EXPIRED', async () => {
      const now = nowSeconds();
      await refusedAtMe(sign({ payload: { iat: now - 7200, exp: now - 60 } }), 'TOKEN_EXPIRED');
    });

    it('refuses a badly signed expired token with TOKEN_INVALID, not TOKEN_EXPIRED', async () => {
      const now = nowSeconds();
      await refusedAtMe(sign({ payload: { iat: now - 7200, exp: now - 60 }, secret: 'not-the-retailer-secret-0123456789abcdef' }), 'TOKEN_INVALID');
    });

    it('refuses a well-signed token whose `nbf` is in the future, with TOKEN_INVALID', async () => {
      await refusedAtMe(sign({ payload: { nbf: nowSeconds() + 600 } }), 'TOKEN_INVALID');
    });

    it('refuses a well-signed token without `jti`, with TOKEN_INVALID', async () => {
      await refusedAtMe(sign({ payload: { jti: undefined } }), 'TOKEN_INVALID');
    });
  });

  describe('where the token is taken from', () => {
    it('ignores a valid token in the query string (?token=, ?access_token=): TOKEN_MISSING', async () => {
      for (const param of ['token', 'access_token']) {
        const res = await request(instance.http).get(`${ME}?${param}=${encodeURIComponent(present(session.token))}`);
        expectRefused(instance, res, 401, 'TOKEN_MISSING');
      }
    });

    it('does not take a valid token from `Authorization: Basic ...`: TOKEN_MISSING', async () => {
      const basic = Buffer.from(`${owner.email}:${session.token}`).toString('base64');
      present(basic);
      const res = await request(instance.http).get(ME).set('Authorization', `Basic ${basic}`);
      expectRefused(instance, res, 401, 'TOKEN_MISSING');
    });

    it('refuses a garbage Bearer token with TOKEN_INVALID', async () => {
      await refusedAtMe(garbage(), 'TOKEN_INVALID');
      await refusedAtMe(`${garbage()}.${garbage()}.${garbage()}`, 'TOKEN_INVALID');
    });

    it('prefers the Bearer token: a valid Bearer with a garbage cookie is 200', async () => {
      const res = await request(instance.http)
        .get(ME)
        .set('Authorization', `Bearer ${session.token}`)
        .set('Cookie', `${ACCESS_COOKIE}=${present(garbage())}`)
        .expect(200);
      expect(res.body.data.user.id).toBe(owner.userId);
    });

    it('prefers the Bearer token: a garbage Bearer with a valid cookie is 401 TOKEN_INVALID', async () => {
      const res = await request(instance.http)
        .get(ME)
        .set('Authorization', `Bearer ${present(garbage())}`)
        .set('Cookie', `${ACCESS_COOKIE}=${session.token}`);
      expectRefused(instance, res, 401, 'TOKEN_INVALID');
    });
  });

  describe('claims that must mean nothing', () => {
    it('ignores an `act: {sub}` claim in a correctly signed retailer token: /auth/me answers the token\'s own retailer', async () => {
      const other = await registerOwner(instance);
      expect(other.retailerId).not.toBe(owner.retailerId);
      const res = await meWithBearer(instance, sign({ payload: { act: { sub: other.retailerId } } })).expect(200);
      expect(res.body.data.retailer.id).toBe(owner.retailerId);
      expect(res.body.data.user.id).toBe(owner.userId);
      expect(res.body.data.impersonatedBy).toBeUndefined();
    });
  });

  describe('revocation', () => {
    it('refuses the token of a logged-out session with TOKEN_REVOKED on the same instance', async () => {
      const own = await login(instance, owner.email);
      present(own.token);
      await meWithBearer(instance, own.token).expect(200);
      await request(instance.http).post(LOGOUT).set('Authorization', `Bearer ${own.token}`).expect(200);
      expectRefused(instance, await meWithBearer(instance, own.token), 401, 'TOKEN_REVOKED');
      // A token forged for that session (new jti, fresh dates) is revoked too: revocation is by session.
      expectRefused(instance, await meWithBearer(instance, sign({ payload: { sid: decodeJwt(own.token).payload.sid } })), 401, 'TOKEN_REVOKED');
      // The other session of the same user is untouched.
      await meWithBearer(instance, session.token).expect(200);
    });

    const itWithRedis = hasRedis() ? it : it.skip; // reason: no Redis reachable in this run (no fan-out)
    itWithRedis('refuses it with TOKEN_REVOKED on a second instance within 1 s of the logout on the first', async () => {
      const b = await startInstance({ env: BASE_ENV });
      instancesUsed.add(b);
      try {
        const own = await login(instance, owner.email);
        present(own.token);
        await meWithBearer(b, own.token).expect(200);

        await request(instance.http).post(LOGOUT).set('Authorization', `Bearer ${own.token}`).expect(200);
        const loggedOutAt = Date.now();
        let res = await meWithBearer(b, own.token);
        while (res.body?.error?.code !== 'TOKEN_REVOKED' && Date.now() - loggedOutAt < 1000) {
          await sleep(50);
          res = await meWithBearer(b, own.token);
        }
        const elapsed = Date.now() - loggedOutAt;
        expectRefused(b, res, 401, 'TOKEN_REVOKED');
        expect(elapsed).toBeLessThanOrEqual(1000);
      } finally {
        await closeExtraInstance(b);
      }
    });
  });

  describe('CSRF on cookie-authenticated requests', () => {
    async function cookieSession(): Promise<{ signedIn: LoggedIn; access: string; csrf: string; cookie: string }> {
      const signedIn = await login(instance, owner.email);
      const access = present(cookieValue(signedIn.cookies, ACCESS_COOKIE)!);
      const csrf = cookieValue(signedIn.cookies, CSRF_COOKIE)!;
      expect(access).toBe(signedIn.token);
      expect(csrf).toMatch(/^\S{16,}$/);
      return { signedIn, access, csrf, cookie: `${ACCESS_COOKIE}=${access}; ${CSRF_COOKIE}=${csrf}` };
    }

    it('refuses a cookie-authenticated logout without X-CSRF-Token (403 CSRF_FAILED) and the session still works', async () => {
      const s = await cookieSession();
      expectRefused(instance, await request(instance.http).post(LOGOUT).set('Cookie', s.cookie), 403, 'CSRF_FAILED');
      await request(instance.http).get(ME).set('Cookie', s.cookie).expect(200);
    });

    it('refuses a cookie-authenticated logout with a wrong X-CSRF-Token (403 CSRF_FAILED)', async () => {
      const s = await cookieSession();
      for (const header of [randomBytes(24).toString('base64url'), `${s.csrf}x`, s.csrf.slice(0, -1)]) {
        const res = await request(instance.http).post(LOGOUT).set('Cookie', s.cookie).set('X-CSRF-Token', header);
        expectRefused(instance, res, 403, 'CSRF_FAILED');
      }
      // The right header without the csrf_token cookie proves nothing either.
      const noCookie = await request(instance.http).post(LOGOUT).set('Cookie', `${ACCESS_COOKIE}=${s.access}`).set('X-CSRF-Token', s.csrf);
      expectRefused(instance, noCookie, 403, 'CSRF_FAILED');
      await request(instance.http).get(ME).set('Cookie', s.cookie).expect(200);
    });

    it('accepts a cookie-authenticated logout whose X-CSRF-Token equals the csrf_token cookie (200), and the session is then revoked', async () => {
      const s = await cookieSession();
      await request(instance.http).post(LOGOUT).set('Cookie', s.cookie).set('X-CSRF-Token', s.csrf).expect(200);
      expectRefused(instance, await meWithCookie(instance, s.access), 401, 'TOKEN_REVOKED');
    });

    it('exempts Bearer-authenticated requests: logout with Bearer and no X-CSRF-Token is 200', async () => {
      const s = await cookieSession();
      await request(instance.http).post(LOGOUT).set('Authorization', `Bearer ${s.access}`).expect(200);
      expectRefused(instance, await meWithBearer(instance, s.access), 401, 'TOKEN_REVOKED');
    });

    it('needs no X-CSRF-Token for a safe method: GET /auth/me with the cookie is 200', async () => {
      const s = await cookieSession();
      const res = await request(instance.http).get(ME).set('Cookie', `${ACCESS_COOKIE}=${s.access}`).expect(200);
      expect(res.body.data.user.id).toBe(owner.userId);
    });
  });

  describe('session cookies', () => {
    it('sets the access cookie HttpOnly, SameSite=Lax, Path=/; the refresh cookie HttpOnly on Path=/api/v1/auth; csrf_token readable by scripts', async () => {
      const res = await request(instance.http).post('/api/v1/auth/login').send({ email: owner.email, password: owner.password }).expect(200);
      present(res.body.data.token);

      const access = setCookie(res, ACCESS_COOKIE);
      expect(access.value).toBe(res.body.data.token);
      expect(access.attrs).toMatchObject({ httponly: true, path: '/' });
      expect(String(access.attrs.samesite).toLowerCase()).toBe('lax');

      const refresh = setCookie(res, REFRESH_COOKIE);
      expect(refresh.value).toBe(encodeURIComponent(res.body.data.refreshToken));
      expect(refresh.attrs).toMatchObject({ httponly: true, path: '/api/v1/auth' });

      const csrf = setCookie(res, CSRF_COOKIE);
      expect(csrf.value).not.toBe('');
      expect(csrf.attrs.httponly).toBeUndefined();
      expect(csrf.attrs.path).toBe('/');

      // This instance runs with COOKIE_SECURE=false.
      for (const cookie of [access, refresh, csrf]) expect({ name: cookie.name, secure: cookie.attrs.secure }).toEqual({ name: cookie.name, secure: undefined });
    });

    for (const [label, value] of [
      ['unset', undefined],
      ['"true"', 'true'],
    ] as const) {
      it(`marks every session cookie Secure when COOKIE_SECURE is ${label}`, async () => {
        const secure = await startInstance({ env: { ...BASE_ENV, COOKIE_SECURE: value } });
        try {
          expect(secure.config.http.cookieSecure).toBe(true);
          const res = await request(secure.http).post('/api/v1/auth/login').send({ email: owner.email, password: owner.password }).expect(200);
          present(res.body.data.token);
          for (const name of [ACCESS_COOKIE, REFRESH_COOKIE, CSRF_COOKIE]) {
            expect({ name, secure: setCookie(res, name).attrs.secure }).toEqual({ name, secure: true });
          }
          await request(secure.http).post(LOGOUT).set('Authorization', `Bearer ${res.body.data.token}`).expect(200);
        } finally {
          await closeExtraInstance(secure);
        }
      });
    }

    it('clears all three cookies on logout (empty value, expiry in the past), each on its own Path', async () => {
      const signedIn = await login(instance, owner.email);
      present(signedIn.token);
      const res = await request(instance.http).post(LOGOUT).set('Authorization', `Bearer ${signedIn.token}`).expect(200);
      const expectedPath: Record<string, string> = { [ACCESS_COOKIE]: '/', [REFRESH_COOKIE]: '/api/v1/auth', [CSRF_COOKIE]: '/' };
      for (const name of [ACCESS_COOKIE, REFRESH_COOKIE, CSRF_COOKIE]) {
        const cookie = setCookie(res, name);
        expect({ name, cleared: isCleared(cookie), path: cookie.attrs.path }).toEqual({ name, cleared: true, path: expectedPath[name] });
      }
    });
  });

  describe('logging of refusals', () => {
    it('logs a refused token as "request refused" with the request id, client address and reason, without the token', async () => {
      const token = sign({ header: { alg: 'none' } });
      const res = await meWithBearer(instance, token);
      expectRefused(instance, res, 401, 'TOKEN_INVALID');
      const record = instance.logs.records().find((r) => r.msg === 'request refused' && r.requestId === res.headers['x-request-id']);
      expect(record).toMatchObject({ reason: 'TOKEN_INVALID', ip: expect.any(String), path: ME, method: 'GET' });
      expect(instance.logs.text).not.toContain(token);

      const expired = sign({ payload: { iat: nowSeconds() - 7200, exp: nowSeconds() - 60 } });
      const res2 = await meWithCookie(instance, expired);
      expectRefused(instance, res2, 401, 'TOKEN_EXPIRED');
      const record2 = instance.logs.records().find((r) => r.msg === 'request refused' && r.requestId === res2.headers['x-request-id']);
      expect(record2).toMatchObject({ reason: 'TOKEN_EXPIRED' });
      expect(instance.logs.text).not.toContain(expired);
    });

    it('has a "request refused" record with the right reason for every refusal provoked in this file', () => {
      expect(refusals.length).toBeGreaterThan(0);
      const missing = refusals
        .map(({ instance: at, requestId, code }) => {
          const record = at.logs.records().find((r) => r.msg === 'request refused' && r.requestId === requestId);
          return { requestId, code, logged: record?.reason ?? null };
        })
        .filter((r) => r.logged !== r.code);
      expect(missing).toEqual([]);
    });

    it('never wrote any presented token (real or forged), nor its signature, to any instance log', () => {
      const leaks: string[] = [];
      for (const at of [instance, ...instancesUsed]) {
        const text = at.logs.text;
        for (const token of presentedTokens) {
          const signature = token.split('.')[2] ?? '';
          if (text.includes(token) || (signature.length >= 20 && text.includes(signature))) leaks.push(token.slice(0, 24));
        }
      }
      expect(leaks).toEqual([]);
    });
  });
});
