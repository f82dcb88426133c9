import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { getDataSourceToken } from '@nestjs/typeorm';
import jwt from 'jsonwebtoken';
import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { registerOwnerWithTotp } from '../factories/mfa.factory';
import { cookieValue, login, registerOwner, RegisteredOwner } from '../factories/retailer.factory';
import { expectError, expectWorks } from '../support/expectations';
import { decodeJwt, forgeJwt, JwtHeader, JwtPayload, kidOf } from '../support/jwt-forge';
import { startInstance, TEST_SECRETS, TestInstance } from '../support/test-app';

/**
 * POST /auth/bridge as a sibling service uses it: a short-lived, single-use bridge token in the
 * JSON body is traded for a retailer session, answered exactly like a login. Every other shape of
 * token (other key, type, algorithm, audience, issuer, lifetime, place) is refused with the
 * contract's code, and exchanges are audit-logged as `bridge_exchange`.
 *
 * Two instances share the run's Postgres (the jti table) and Redis; the database is read or
 * written directly only where HTTP cannot (suspending a retailer while the admin routes do not
 * exist yet, failure rows that belong to no retailer).
 */

const BRIDGE = '/api/v1/auth/bridge';
const ME = '/api/v1/auth/me';

const BRIDGE_SECRET = TEST_SECRETS.BRIDGE_JWT_PRIVATE_KEY!;
const BRIDGE_KID = kidOf(BRIDGE_SECRET);
/** A bridge key of before the last rotation: accepted for verification only. */
const PREVIOUS_BRIDGE_SECRET = 'test-bridge-previous-secret-0123456789abcdef';
const UNKNOWN_SECRET = 'a-bridge-secret-this-service-never-had-0123456789';
const RETAILER_SECRET = TEST_SECRETS.RETAILER_JWT_PRIVATE_KEY!;

const ISSUER = 'orders-service';
const ENV = {
  BRIDGE_ALLOWED_ISSUERS: 'orders-service,billing-service',
  BRIDGE_JWT_PREVIOUS_KEYS: PREVIOUS_BRIDGE_SECRET,
  // Every suite of the run registers and signs in from 127.0.0.1: keep the per-IP limits out of the way.
  RATE_LIMIT_REGISTER_IP: '1000/1h',
  RATE_LIMIT_LOGIN_IP: '1000/15m',
};

const REPO_ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Every token text this file sent: none may ever reach a log. */
const presented = new Set<string>();

function exchange(instance: TestInstance, token: string): request.Test {
  presented.add(token);
  return request(instance.http).post(BRIDGE).send({ token });
}

function me(instance: TestInstance, token: string): request.Test {
  return request(instance.http).get(ME).set('Authorization', `Bearer ${token}`);
}

function setCookieNames(res: Response): string[] {
  return ([res.headers['set-cookie'] ?? []].flat() as string[]).map((line) => line.split('=')[0]);
}

interface MintOptions {
  payload?: JwtPayload;
  header?: JwtHeader;
  secret?: string;
}

/** A bridge token as a sibling mints it (HS256, bridge secret and kid, 60 s), with overrides (undefined removes). */
function mint(owner: Pick<RegisteredOwner, 'retailerId' | 'userId'>, options: MintOptions = {}): string {
  const now = nowSeconds();
  const header: JwtHeader = { alg: 'HS256', typ: 'JWT', kid: BRIDGE_KID, ...options.header };
  const payload: JwtPayload = { iss: ISSUER, aud: ['bridge'], sub: owner.retailerId, uid: owner.userId, iat: now, exp: now + 60, jti: randomUUID(), ...options.payload };
  for (const object of [header, payload]) for (const key of Object.keys(object)) if (object[key] === undefined) delete object[key];
  return forgeJwt({ header, payload, secret: options.secret ?? BRIDGE_SECRET });
}

describe('POST /auth/bridge', () => {
  let a: TestInstance;
  let b: TestInstance;
  let dataSource: DataSource;

  /** The audit rows of an event for the owner's retailer, read over HTTP as the owner would. */
  async function auditRows(owner: RegisteredOwner, event: string): Promise<any[]> {
    const session = await login(a, owner.email);
    const res = await request(a.http).get('/api/v1/audit-logs').query({ event, limit: 200 }).set('Authorization', `Bearer ${session.token}`);
    expectWorks(res);
    return res.body.data.items;
  }

  /** `bridge_exchange` rows whose metadata names this jti, from the database (rows of no retailer included). */
  async function bridgeRowsOf(jti: string): Promise<any[]> {
    return dataSource.query(`SELECT * FROM audit_logs WHERE event = 'bridge_exchange' AND metadata->>'jti' = $1 ORDER BY id`, [jti]);
  }

  beforeAll(async () => {
    a = await startInstance({ env: ENV });
    b = await startInstance({ env: ENV });
    dataSource = a.app.get<DataSource>(getDataSourceToken());
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  describe('a good token', () => {
    it('answers like a login (200, token, refreshToken, user, cookies) and the access token works at /auth/me on both instances', async () => {
      const owner = await registerOwner(a);
      const res = await exchange(a, mint(owner));
      expectWorks(res);
      expect(res.body.success).toBe(true);
      expect(res.body.data).toEqual({
        token: expect.any(String),
        expiresAt: expect.any(String),
        refreshToken: expect.any(String),
        refreshExpiresAt: expect.any(String),
        user: expect.objectContaining({ id: owner.userId, email: owner.email }),
      });
      expect(res.body.data.mfaRequired).toBeUndefined();
      expect(setCookieNames(res)).toEqual(expect.arrayContaining(['retailer_access_token', 'retailer_refresh_token', 'csrf_token']));
      expect(cookieValue([res.headers['set-cookie']].flat() as string[], 'retailer_access_token')).toBe(res.body.data.token);

      const access = decodeJwt(res.body.data.token).payload;
      expect(access).toMatchObject({ sub: owner.retailerId, uid: owner.userId, aud: ['retailer'], iss: a.config.jwt.issuer });
      for (const instance of [a, b]) {
        const who = await me(instance, res.body.data.token);
        expectWorks(who);
        expect(who.body.data.user.id).toBe(owner.userId);
        expect(who.body.data.retailer.id).toBe(owner.retailerId);
      }
      // The refresh token is a real one: it rotates.
      expectWorks(await request(b.http).post('/api/v1/auth/refresh').send({ refreshToken: res.body.data.refreshToken }));
    });

    it('is audit-logged as bridge_exchange naming the issuer and the jti, with the user as actor, and the session as a bridge sign-in', async () => {
      const owner = await registerOwner(a);
      const jti = `orders-${randomUUID()}`;
      const res = await exchange(a, mint(owner, { payload: { iss: 'billing-service', jti } }));
      expectWorks(res);

      const rows = (await auditRows(owner, 'bridge_exchange')).filter((r) => r.metadata?.jti === jti);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        event: 'bridge_exchange',
        status: 'success',
        actorType: 'user',
        actorId: owner.userId,
        retailerId: owner.retailerId,
        ip: '127.0.0.1',
        metadata: expect.objectContaining({ issuer: 'billing-service', jti }),
      });
      const sid = decodeJwt(res.body.data.token).payload.sid;
      const logins = (await auditRows(owner, 'login_success')).filter((r) => r.metadata?.sessionId === sid);
      expect(logins).toHaveLength(1);
      expect(logins[0].metadata.method).toBe('bridge');
    });

    it('works without a kid header (the current bridge key is tried)', async () => {
      const owner = await registerOwner(a);
      expectWorks(await exchange(a, mint(owner, { header: { kid: undefined } })));
      expectWorks(await exchange(b, mint(owner, { header: { kid: undefined, typ: undefined } })));
    });

    it('works when minted with jsonwebtoken exactly as docs/bridge-tokens.md shows (aud as a string too)', async () => {
      const owner = await registerOwner(a);
      const now = nowSeconds();
      const claims = { iss: ISSUER, sub: owner.retailerId, uid: owner.userId, iat: now, exp: now + 60 };
      const withKid = jwt.sign({ ...claims, aud: ['bridge'], jti: randomUUID() }, BRIDGE_SECRET, { algorithm: 'HS256', keyid: BRIDGE_KID });
      const audString = jwt.sign({ ...claims, aud: 'bridge', jti: randomUUID() }, BRIDGE_SECRET, { algorithm: 'HS256' });
      expectWorks(await exchange(a, withKid));
      expectWorks(await exchange(a, audString));
    });

    it('gives a user with TOTP on a session, not an MFA challenge', async () => {
      const totp = await registerOwnerWithTotp(a);
      // Control: a password login of this user is challenged.
      const challenged = await request(a.http).post('/api/v1/auth/login').send({ email: totp.owner.email, password: totp.owner.password });
      expect(challenged.body.data.mfaRequired).toBe(true);

      const res = await exchange(a, mint(totp.owner));
      expectWorks(res);
      expect(res.body.data.mfaRequired).toBeUndefined();
      expect(res.body.data.mfaToken).toBeUndefined();
      expectWorks(await me(a, res.body.data.token));
    });
  });

  describe('key rotation', () => {
    it('accepts a token signed with a previous bridge key (BRIDGE_JWT_PREVIOUS_KEYS), with its kid or without one', async () => {
      const owner = await registerOwner(a);
      expectWorks(await exchange(a, mint(owner, { secret: PREVIOUS_BRIDGE_SECRET, header: { kid: kidOf(PREVIOUS_BRIDGE_SECRET) } })));
      expectWorks(await exchange(b, mint(owner, { secret: PREVIOUS_BRIDGE_SECRET, header: { kid: undefined } })));
    });

    it('refuses a token signed with an unknown key (its own kid, no kid, or the bridge kid) with TOKEN_INVALID', async () => {
      const owner = await registerOwner(a);
      for (const header of [{ kid: kidOf(UNKNOWN_SECRET) }, { kid: undefined }, { kid: BRIDGE_KID }]) {
        expectError(await exchange(a, mint(owner, { secret: UNKNOWN_SECRET, header })), 401, 'TOKEN_INVALID');
      }
    });

    it('refuses a previous-key token labelled with the current kid (a kid selects exactly one key) with TOKEN_INVALID', async () => {
      const owner = await registerOwner(a);
      expectError(await exchange(a, mint(owner, { secret: PREVIOUS_BRIDGE_SECRET, header: { kid: BRIDGE_KID } })), 401, 'TOKEN_INVALID');
    });
  });

  describe('single use', () => {
    it('refuses a replay with 401 TOKEN_INVALID, on the same and on another instance, and logs the replay', async () => {
      const owner = await registerOwner(a);
      const jti = randomUUID();
      const token = mint(owner, { payload: { jti } });
      expectWorks(await exchange(a, token));
      expectError(await exchange(a, token), 401, 'TOKEN_INVALID');
      expectError(await exchange(b, token), 401, 'TOKEN_INVALID');

      const rows = (await auditRows(owner, 'bridge_exchange')).filter((r) => r.metadata?.jti === jti);
      expect(rows.map((r) => r.status).sort()).toEqual(['failure', 'failure', 'success']);
      expect(rows.filter((r) => r.status === 'failure').every((r) => r.reason === 'TOKEN_INVALID' && r.metadata.issuer === ISSUER)).toBe(true);
    });

    it('a jti is single use per issuer: the same jti from another issuer is another token', async () => {
      const owner = await registerOwner(a);
      const jti = randomUUID();
      expectWorks(await exchange(a, mint(owner, { payload: { jti, iss: 'orders-service' } })));
      expectWorks(await exchange(a, mint(owner, { payload: { jti, iss: 'billing-service' } })));
      expectError(await exchange(a, mint(owner, { payload: { jti, iss: 'billing-service' } })), 401, 'TOKEN_INVALID');
    });

    it('one token sent concurrently to two instances: exactly one 200, every other answer TOKEN_INVALID', async () => {
      for (let round = 0; round < 3; round++) {
        const owner = await registerOwner(a);
        const token = mint(owner);
        const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => exchange(i % 2 === 0 ? a : b, token)));
        expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
        for (const res of answers.filter((r) => r.status !== 200)) expectError(res, 401, 'TOKEN_INVALID');
        const sessions = await dataSource.query(`SELECT count(*)::int AS n FROM sessions WHERE user_id = $1`, [owner.userId]);
        expect(sessions[0].n).toBe(1);
      }
    });

    it('a refused token is not spent: after a malformed request (extra field) or the token in a header, it still works once', async () => {
      const owner = await registerOwner(a);
      const token = mint(owner);
      presented.add(token);

      const extra = await request(a.http).post(BRIDGE).send({ token, userId: owner.userId });
      expectError(extra, 400, 'VALIDATION_FAILED');
      expect(extra.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'userId' })]));

      expectWorks(await exchange(a, token));
      expectError(await exchange(a, token), 401, 'TOKEN_INVALID');
    });
  });

  describe('refused tokens', () => {
    let owner: RegisteredOwner;
    beforeAll(async () => {
      owner = await registerOwner(a);
    });

    const cases: Array<[string, () => string]> = [
      ['an issuer not in BRIDGE_ALLOWED_ISSUERS', () => mint(owner, { payload: { iss: 'shipping-service' } })],
      ["this service's own TOKEN_ISSUER as issuer", () => mint(owner, { payload: { iss: a.config.jwt.issuer } })],
      ['no issuer', () => mint(owner, { payload: { iss: undefined } })],
      ['audience ["retailer"]', () => mint(owner, { payload: { aud: ['retailer'] } })],
      ['no audience', () => mint(owner, { payload: { aud: undefined } })],
      ['exp - iat = 301', () => mint(owner, { payload: { iat: nowSeconds() - 1, exp: nowSeconds() + 300 } })],
      ['iat 60 s in the future', () => mint(owner, { payload: { iat: nowSeconds() + 60, exp: nowSeconds() + 120 } })],
      ['nbf in the future', () => mint(owner, { payload: { nbf: nowSeconds() + 30 } })],
      ['no exp', () => mint(owner, { payload: { exp: undefined } })],
      ['no iat', () => mint(owner, { payload: { iat: undefined } })],
      ['no jti', () => mint(owner, { payload: { jti: undefined } })],
      ['no sub', () => mint(owner, { payload: { sub: undefined } })],
      ['no uid', () => mint(owner, { payload: { uid: undefined } })],
      ['alg none (unsigned)', () => forgeJwt({ header: { alg: 'none', typ: 'JWT', kid: BRIDGE_KID }, payload: decodeJwt(mint(owner)).payload })],
      ['alg none without kid', () => forgeJwt({ header: { alg: 'none' }, payload: decodeJwt(mint(owner)).payload })],
      ['HS512 with the bridge secret', () => mint(owner, { header: { alg: 'HS512' } })],
      ['HS512 with the bridge secret and no kid', () => mint(owner, { header: { alg: 'HS512', kid: undefined } })],
      ['RS256 label, HMAC-signed with the bridge secret', () => forgeJwt({ header: { alg: 'RS256', kid: BRIDGE_KID }, payload: decodeJwt(mint(owner)).payload, secret: BRIDGE_SECRET, hmac: 'sha256' })],
      ['a jku header', () => mint(owner, { header: { jku: 'https://attacker.example/jwks.json' } })],
      ['a jwk header, no kid', () => mint(owner, { header: { kid: undefined, jwk: { kty: 'oct', k: Buffer.from(BRIDGE_SECRET).toString('base64url') } } })],
      ['a bridge token with its signature replaced', () => `${mint(owner).split('.').slice(0, 2).join('.')}.${randomBytes(32).toString('base64url')}`],
      ['the retailer secret under the retailer kid', () => mint(owner, { secret: RETAILER_SECRET, header: { kid: kidOf(RETAILER_SECRET) } })],
      ['the retailer secret without kid', () => mint(owner, { secret: RETAILER_SECRET, header: { kid: undefined } })],
      ['the retailer secret under the bridge kid', () => mint(owner, { secret: RETAILER_SECRET })],
      ...(['ADMIN', 'PORTAL', 'REACTIVATE'] as const).map((type): [string, () => string] => [
        `the ${type} secret without kid`,
        () => mint(owner, { secret: TEST_SECRETS[`${type}_JWT_PRIVATE_KEY`]!, header: { kid: undefined } }),
      ]),
      ['garbage', () => `garbage-${randomBytes(12).toString('hex')}`],
    ];
    for (const [name, token] of cases) {
      it(`refuses ${name} with 401 TOKEN_INVALID`, async () => {
        expectError(await exchange(a, token()), 401, 'TOKEN_INVALID');
      });
    }

    it('refuses a retailer access token with 401 TOKEN_INVALID', async () => {
      const session = await login(a, owner.email);
      expectError(await exchange(a, session.token), 401, 'TOKEN_INVALID');
    });

    it('refuses an expired token with 401 TOKEN_EXPIRED (and it is not spent by the refusal)', async () => {
      const now = nowSeconds();
      const jti = randomUUID();
      expectError(await exchange(a, mint(owner, { payload: { iat: now - 120, exp: now - 60, jti } })), 401, 'TOKEN_EXPIRED');
      expectError(await exchange(a, mint(owner, { payload: { iat: now - 120, exp: now - 60, jti }, header: { kid: undefined } })), 401, 'TOKEN_EXPIRED');
      const spent = await dataSource.query(`SELECT count(*)::int AS n FROM one_time_tokens WHERE purpose = 'bridge_jti' AND token_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')`, [`${ISSUER}\n${jti}`]);
      expect(spent[0].n).toBe(0);
    });

    it('refuses a token with no body token (TOKEN_MISSING), and one sent in the Authorization header instead of the body', async () => {
      const token = mint(owner);
      presented.add(token);
      expectError(await request(a.http).post(BRIDGE).send({}), 401, 'TOKEN_MISSING');
      expectError(await request(a.http).post(BRIDGE).set('Authorization', `Bearer ${token}`), 401, 'TOKEN_MISSING');
      expectError(await request(a.http).post(BRIDGE).set('Authorization', `Bearer ${token}`).send({}), 401, 'TOKEN_MISSING');
      expectError(await request(a.http).post(BRIDGE).set('Cookie', `retailer_access_token=${token}`).send({}), 401, 'TOKEN_MISSING');
      expectError(await request(a.http).post(BRIDGE).query({ token }).send({}), 401, 'TOKEN_MISSING');
      // In the body, the very same token works (none of the above spent it).
      expectWorks(await exchange(a, token));
    });

    it('refuses a body token that is not a string with 400 VALIDATION_FAILED', async () => {
      const res = await request(a.http).post(BRIDGE).send({ token: 12345 });
      expectError(res, 400, 'VALIDATION_FAILED');
      expect(res.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'token' })]));
    });

    it('a bridge token is not an access token: as Bearer at /auth/me it is TOKEN_INVALID', async () => {
      const token = mint(owner);
      presented.add(token);
      expectError(await me(a, token), 401, 'TOKEN_INVALID');
      expectError(await me(a, mint(owner, { header: { kid: undefined } })), 401, 'TOKEN_INVALID');
    });

    it('audit-logs a refusal whose issuer is known (reason code, claimed issuer, no retailer), and not a token that does not parse', async () => {
      const jti = randomUUID();
      expectError(await exchange(a, mint(owner, { payload: { iss: 'shipping-service', jti } })), 401, 'TOKEN_INVALID');
      const rows = await bridgeRowsOf(jti);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status: 'failure', reason: 'TOKEN_INVALID', retailer_id: null, actor_type: 'service' });
      expect(rows[0].metadata).toMatchObject({ issuer: 'shipping-service', jti, verified: false });

      const expiredJti = randomUUID();
      expectError(await exchange(a, mint(owner, { payload: { iat: nowSeconds() - 120, exp: nowSeconds() - 60, jti: expiredJti } })), 401, 'TOKEN_EXPIRED');
      expect((await bridgeRowsOf(expiredJti)).map((r) => r.reason)).toEqual(['TOKEN_EXPIRED']);

      const garbage = await exchange(a, `not.a-jwt.${randomBytes(8).toString('hex')}`);
      expectError(garbage, 401, 'TOKEN_INVALID');
      const byRequest = await dataSource.query(`SELECT count(*)::int AS n FROM audit_logs WHERE request_id = $1`, [garbage.headers['x-request-id']]);
      expect(byRequest[0].n).toBe(0);
    });
  });

  describe('the subject', () => {
    it('refuses a user of another retailer with 401 TOKEN_REVOKED (and logs it for the retailer the token names)', async () => {
      const owner = await registerOwner(a);
      const other = await registerOwner(a);
      const jti = randomUUID();
      expectError(await exchange(a, mint({ retailerId: owner.retailerId, userId: other.userId }, { payload: { jti } })), 401, 'TOKEN_REVOKED');
      const rows = (await auditRows(owner, 'bridge_exchange')).filter((r) => r.metadata?.jti === jti);
      expect(rows).toEqual([expect.objectContaining({ status: 'failure', reason: 'TOKEN_REVOKED', retailerId: owner.retailerId })]);
      // Neither user got a session.
      const sessions = await dataSource.query(`SELECT count(*)::int AS n FROM sessions WHERE user_id = $1`, [other.userId]);
      expect(sessions[0].n).toBe(0);
    });

    it('refuses an unknown user or retailer (or ids that are not ids) with 401 TOKEN_REVOKED', async () => {
      const owner = await registerOwner(a);
      expectError(await exchange(a, mint({ retailerId: owner.retailerId, userId: randomUUID() })), 401, 'TOKEN_REVOKED');
      expectError(await exchange(a, mint({ retailerId: randomUUID(), userId: owner.userId })), 401, 'TOKEN_REVOKED');
      expectError(await exchange(a, mint({ retailerId: owner.retailerId, userId: 'user-42' })), 401, 'TOKEN_REVOKED');
    });

    it('refuses a user of a suspended retailer with 403 ACCOUNT_SUSPENDED, and works again after unsuspension', async () => {
      const owner = await registerOwner(a);
      await dataSource.query(`UPDATE retailers SET status = 'suspended', suspended_at = now() WHERE id = $1`, [owner.retailerId]);
      const jti = randomUUID();
      expectError(await exchange(a, mint(owner, { payload: { jti } })), 403, 'ACCOUNT_SUSPENDED');
      expectError(await exchange(b, mint(owner)), 403, 'ACCOUNT_SUSPENDED');
      expect((await bridgeRowsOf(jti)).map((r) => r.reason)).toEqual(['ACCOUNT_SUSPENDED']);

      await dataSource.query(`UPDATE retailers SET status = 'active', suspended_at = NULL WHERE id = $1`, [owner.retailerId]);
      expectWorks(await exchange(a, mint(owner)));
    });

    it('refuses a suspended user with 403 ACCOUNT_SUSPENDED', async () => {
      const owner = await registerOwner(a);
      await dataSource.query(`UPDATE users SET status = 'suspended' WHERE id = $1`, [owner.userId]);
      expectError(await exchange(a, mint(owner)), 403, 'ACCOUNT_SUSPENDED');
    });
  });

  describe('CLI bridge:mint', () => {
    const cliEnv = (instance: TestInstance) => ({
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      DATABASE_URL: instance.config.database.url,
      ...TEST_SECRETS,
      BRIDGE_ALLOWED_ISSUERS: ENV.BRIDGE_ALLOWED_ISSUERS,
      TS_NODE_TRANSPILE_ONLY: '1',
    });
    /** Runs apps/cli/src/main.ts from source (what `npm run cli` builds and runs), as an operator would. */
    const cli = (args: string[], env: NodeJS.ProcessEnv) =>
      run(process.execPath, ['-r', 'ts-node/register', '-r', 'tsconfig-paths/register', 'apps/cli/src/main.ts', ...args], { cwd: REPO_ROOT, env, timeout: 60_000 });

    it('prints a token signed with the current bridge key (kid header, aud bridge, 60 s by default) that works once', async () => {
      const owner = await registerOwner(a);
      const { stdout } = await cli(['bridge:mint', '--issuer', ISSUER, '--retailer', owner.retailerId, '--user', owner.userId], cliEnv(a));
      const token = stdout.trim();
      const { header, payload } = decodeJwt(token);
      expect(header).toMatchObject({ alg: 'HS256', kid: BRIDGE_KID });
      expect(payload).toMatchObject({ iss: ISSUER, aud: ['bridge'], sub: owner.retailerId, uid: owner.userId, jti: expect.any(String) });
      expect((payload.exp as number) - (payload.iat as number)).toBe(60);

      const res = await exchange(a, token);
      expectWorks(res);
      expect(res.body.data.user.id).toBe(owner.userId);
      expectError(await exchange(b, token), 401, 'TOKEN_INVALID');
    }, 90_000);

    it('honours --ttl up to 300 s and refuses more', async () => {
      const owner = await registerOwner(a);
      const base = ['bridge:mint', '--issuer', 'billing-service', '--retailer', owner.retailerId, '--user', owner.userId];
      const { stdout } = await cli([...base, '--ttl', '300'], cliEnv(a));
      const { payload } = decodeJwt(stdout.trim());
      expect((payload.exp as number) - (payload.iat as number)).toBe(300);
      expectWorks(await exchange(a, stdout.trim()));

      await expect(cli([...base, '--ttl', '301'], cliEnv(a))).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('--ttl') });
      await expect(cli(['bridge:mint', '--issuer', ISSUER], cliEnv(a))).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('--retailer') });
    }, 90_000);
  });

  it('never logs a token it was sent', () => {
    const logs = `${a.logs.text}\n${b.logs.text}`;
    expect(presented.size).toBeGreaterThan(10);
    for (const token of presented) {
      expect(logs).not.toContain(token);
      expect(logs).not.toContain(token.split('.')[2] || token);
    }
  });
});
