import { randomBytes, randomUUID } from 'node:crypto';
import { getDataSourceToken } from '@nestjs/typeorm';
import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { cookieValue, login, LoggedIn, registerOwner, RegisteredOwner, STRONG_PASSWORD } from '../factories/retailer.factory';
import { hasRedis, startInstance, TestInstance } from '../support/test-app';
import { startWithMailbox } from '../support/with-mailbox';
import { expectCodeWithin, expectError, expectWorks } from '../support/expectations';

/**
 * Retailer sessions as a user (and the user's other tabs and devices) sees them: refresh-token
 * rotation, the reuse grace window, reuse detection, idle expiry, the session cap, listing and
 * remote termination, and revocation reaching every instance within a second.
 *
 * Everything goes over HTTP to real instances sharing the run's Postgres and Redis; the database
 * is read directly only where HTTP cannot show a thing (the generation of a refresh chain).
 */

// Every suite of the run registers and signs in from 127.0.0.1: keep the per-IP limits out of the way.
const BASE_ENV = { RATE_LIMIT_REGISTER_IP: '1000/1h', RATE_LIMIT_LOGIN_IP: '1000/15m' };

const CHROME_ON_MAC =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Small HTTP helpers
// ---------------------------------------------------------------------------------------------

function refresh(instance: TestInstance, refreshToken: string): Promise<Response> {
  return request(instance.http).post('/api/v1/auth/refresh').send({ refreshToken });
}

/** GET /auth/me with a Bearer token: what "does this access token still work?" looks like. */
function me(instance: TestInstance, token: string): Promise<Response> {
  return request(instance.http).get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`);
}

function listSessions(instance: TestInstance, token: string): Promise<Response> {
  return request(instance.http).get('/api/v1/auth/sessions').set('Authorization', `Bearer ${token}`);
}

function deleteSession(instance: TestInstance, token: string, id: string): Promise<Response> {
  return request(instance.http).delete(`/api/v1/auth/sessions/${id}`).set('Authorization', `Bearer ${token}`);
}

async function auditRows(instance: TestInstance, token: string, event: string): Promise<any[]> {
  const res = await request(instance.http).get('/api/v1/audit-logs').query({ event, limit: 200 }).set('Authorization', `Bearer ${token}`);
  expect(res.status).toBe(200);
  return res.body.data.items;
}

/** Signs in with a chosen User-Agent (the factory's login sends none). */
async function loginWithAgent(instance: TestInstance, email: string, userAgent: string): Promise<LoggedIn> {
  const res = await request(instance.http).post('/api/v1/auth/login').set('User-Agent', userAgent).send({ email, password: STRONG_PASSWORD });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { token: res.body.data.token, refreshToken: res.body.data.refreshToken, cookies: [res.headers['set-cookie']].flat() as string[], body: res.body };
}

/** The session id (`sid`) an access token carries. */
function sidOf(token: string): string {
  const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { sid: string };
  return payload.sid;
}

function setCookies(res: Response): string[] {
  return [res.headers['set-cookie'] ?? []].flat() as string[];
}

const pairOf = (res: Response) => ({ token: res.body.data.token as string, refreshToken: res.body.data.refreshToken as string });

// Two instances only share revocations through Redis (without it they converge at the 15 s resync).
const describeTwoInstances = hasRedis() ? describe : describe.skip; // reason: no Redis reachable in this run

// ---------------------------------------------------------------------------------------------
// Default lifetimes (grace 10 s, idle 24 h, 10 sessions), two instances
// ---------------------------------------------------------------------------------------------

describeTwoInstances('retailer sessions across two instances (default lifetimes)', () => {
  let a: TestInstance;
  let b: TestInstance;
  let dataSource: DataSource;

  beforeAll(async () => {
    a = await startInstance({ env: BASE_ENV });
    b = await startInstance({ env: BASE_ENV });
    dataSource = a.app.get<DataSource>(getDataSourceToken());
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  describe('POST /auth/refresh with {refreshToken}', () => {
    it('returns a new pair; the old access token keeps working (a rotation revokes nothing), the new one works', async () => {
      const owner = await registerOwner(a);
      const session = await login(a, owner.email);

      const res = await refresh(a, session.refreshToken);
      expectWorks(res);
      expect(res.body.success).toBe(true);
      const next = pairOf(res);
      expect(typeof next.token).toBe('string');
      expect(typeof next.refreshToken).toBe('string');
      expect(next.refreshToken).not.toBe(session.refreshToken);
      expect(next.token).not.toBe(session.token);
      expect(res.body.data.expiresAt).toMatch(ISO_UTC);
      expect(res.body.data.refreshExpiresAt).toMatch(ISO_UTC);
      expect(res.body.data.user).toMatchObject({ id: owner.userId, email: owner.email });
      expect(sidOf(next.token)).toBe(sidOf(session.token));

      for (const instance of [a, b]) {
        expectWorks(await me(instance, session.token));
        expectWorks(await me(instance, next.token));
      }
      // The new refresh token is the live end of the chain: it rotates again.
      const again = await refresh(b, next.refreshToken);
      expectWorks(again);
      expect(pairOf(again).refreshToken).not.toBe(next.refreshToken);
    });

    it('answers the previous refresh token, reused within the grace window, with exactly the same successor pair', async () => {
      const owner = await registerOwner(a);
      const session = await login(a, owner.email);

      const first = await refresh(a, session.refreshToken);
      expectWorks(first);
      const successor = pairOf(first);

      // Another tab (and another instance) still holding the old refresh token.
      for (const instance of [a, b]) {
        const repeat = await refresh(instance, session.refreshToken);
        expectWorks(repeat);
        expect(pairOf(repeat)).toEqual(successor);
      }
      // Nothing was revoked: the session and its tokens keep working, the chain moves on.
      expectWorks(await me(b, successor.token));
      expectWorks(await me(b, session.token));
      expectWorks(await refresh(b, successor.refreshToken));
    });

    it('revokes the whole session when a token two rotations back is used, even inside the grace window', async () => {
      const owner = await registerOwner(a);
      const session = await login(a, owner.email);
      const observer = await login(a, owner.email); // a second session of the owner, to read the audit log

      const r1 = await refresh(a, session.refreshToken);
      expectWorks(r1);
      const r2 = await refresh(a, pairOf(r1).refreshToken);
      expectWorks(r2);
      const latest = pairOf(r2);

      expectError(await refresh(b, session.refreshToken), 401, 'TOKEN_REVOKED');

      // The live end of the chain is dead, and so is every access token of the session, everywhere.
      expectError(await refresh(a, latest.refreshToken), 401, 'TOKEN_REVOKED');
      for (const token of [session.token, pairOf(r1).token, latest.token]) {
        await expectCodeWithin(() => me(a, token), 401, 'TOKEN_REVOKED');
        await expectCodeWithin(() => me(b, token), 401, 'TOKEN_REVOKED');
      }
      // The owner's other session is untouched.
      expectWorks(await me(a, observer.token));

      const rows = await auditRows(a, observer.token, 'refresh_reuse_detected');
      expect(rows.filter((r) => r.metadata?.sessionId === sidOf(session.token))).toHaveLength(1);
    });

    it('refuses an unknown or malformed refresh token with 401 TOKEN_INVALID', async () => {
      const owner = await registerOwner(a);
      const session = await login(a, owner.email);
      const [sid, , mac] = session.refreshToken.split('.');
      const forgedMac = randomBytes(32).toString('base64url');

      const candidates = [
        'not-a-refresh-token',
        '', // empty
        `${randomUUID()}.0.${forgedMac}`, // well-formed, unknown session
        `${sid}.0.${forgedMac}`, // a real session, a forged mac
        `${sid}.5.${mac}`, // a real mac moved to another generation
        `${session.refreshToken}.extra`,
      ];
      for (const candidate of candidates) {
        const res = await refresh(a, candidate);
        expect({ candidate, status: res.status, code: res.body?.error?.code }).toEqual({ candidate, status: 401, code: 'TOKEN_INVALID' });
      }
      // None of that disturbed the real session.
      expectWorks(await me(a, session.token));
      expectWorks(await refresh(a, session.refreshToken));
    });

    it('refuses a token of another type (the access token) or an overlong string as refreshToken with 401 TOKEN_INVALID', async () => {
      // Contract: TOKEN_INVALID is "malformed, ..., wrong type"; a client that sends the wrong
      // token must be told its credential is bad (401), not that its request is (400).
      const owner = await registerOwner(a);
      const session = await login(a, owner.email);
      for (const candidate of [session.token, `${session.refreshToken}${'x'.repeat(200)}`]) {
        const res = await refresh(a, candidate);
        expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status: 401, code: 'TOKEN_INVALID' });
      }
      expectWorks(await refresh(a, session.refreshToken));
    });

    it('refuses the refresh token of a logged-out session with 401 TOKEN_REVOKED', async () => {
      const owner = await registerOwner(a);
      const session = await login(a, owner.email);
      const logout = await request(a.http).post('/api/v1/auth/logout').set('Authorization', `Bearer ${session.token}`);
      expectWorks(logout);

      expectError(await refresh(a, session.refreshToken), 401, 'TOKEN_REVOKED');
      expectError(await refresh(b, session.refreshToken), 401, 'TOKEN_REVOKED');
    });
  });

  describe('concurrent refreshes of one refresh token', () => {
    it('20 at once over two instances: one successor pair for all, exactly one live chain', async () => {
      const owner = await registerOwner(a);
      const session = await login(a, owner.email);
      const sid = sidOf(session.token);

      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => refresh(i % 2 === 0 ? a : b, session.refreshToken)));

      const statuses = answers.map((r) => r.status);
      expect(statuses.every((s) => s === 200 || s === 401)).toBe(true);
      const ok = answers.filter((r) => r.status === 200);
      expect(ok.length).toBeGreaterThanOrEqual(1);
      const pairs = ok.map(pairOf);
      expect(new Set(pairs.map((p) => JSON.stringify(p))).size).toBe(1);
      const successor = pairs[0];
      expect(successor.refreshToken).not.toBe(session.refreshToken);

      // In the database: the chain moved exactly once, and the session is alive.
      const [row] = await dataSource.query(`SELECT generation, revoked_at FROM sessions WHERE id = $1`, [sid]);
      expect(row).toEqual({ generation: 1, revoked_at: null });

      // The successor works on both instances and rotates once more.
      expectWorks(await me(a, successor.token));
      expectWorks(await me(b, successor.token));
      const next = await refresh(b, successor.refreshToken);
      expectWorks(next);
      expect(pairOf(next).refreshToken).not.toBe(successor.refreshToken);
      const [after] = await dataSource.query(`SELECT generation, revoked_at FROM sessions WHERE id = $1`, [sid]);
      expect(after).toEqual({ generation: 2, revoked_at: null });

      // No tab was taken for a thief: no reuse alert for this session.
      const alerts = await auditRows(a, pairOf(next).token, 'refresh_reuse_detected');
      expect(alerts.filter((r) => r.metadata?.sessionId === sid)).toEqual([]);
    });
  });

  describe('POST /auth/refresh with the refresh cookie', () => {
    it('needs X-CSRF-Token equal to the csrf_token cookie; then rotates and sets new cookies', async () => {
      const owner = await registerOwner(a);
      const session = await login(a, owner.email);
      const refreshCookie = cookieValue(session.cookies, 'retailer_refresh_token');
      const csrf = cookieValue(session.cookies, 'csrf_token');
      expect(refreshCookie).toBe(session.refreshToken);
      expect(csrf).toBeTruthy();
      const cookieHeader = `retailer_refresh_token=${refreshCookie}; csrf_token=${csrf}`;

      const noHeader = await request(a.http).post('/api/v1/auth/refresh').set('Cookie', cookieHeader).send({});
      expectError(noHeader, 403, 'CSRF_FAILED');
      const wrongHeader = await request(a.http).post('/api/v1/auth/refresh').set('Cookie', cookieHeader).set('X-CSRF-Token', 'not-the-cookie').send({});
      expectError(wrongHeader, 403, 'CSRF_FAILED');

      // The refused attempts did not use up the refresh token: the real one is a normal rotation.
      const res = await request(a.http).post('/api/v1/auth/refresh').set('Cookie', cookieHeader).set('X-CSRF-Token', csrf!).send({});
      expectWorks(res);
      const next = pairOf(res);
      expect(next.refreshToken).not.toBe(session.refreshToken);

      const cookies = setCookies(res);
      expect(cookieValue(cookies, 'retailer_access_token')).toBe(next.token);
      expect(cookieValue(cookies, 'retailer_refresh_token')).toBe(next.refreshToken);
      expect(cookieValue(cookies, 'csrf_token')).toBeTruthy();
      const refreshLine = cookies.find((c) => c.startsWith('retailer_refresh_token='))!;
      expect(refreshLine).toMatch(/;\s*Path=\/api\/v1\/auth/i);
      expect(refreshLine).toMatch(/;\s*HttpOnly/i);

      expectWorks(await me(b, next.token));
      // The cookie chain is the same chain as the body one.
      expectWorks(await refresh(b, next.refreshToken));
    });
  });

  describe('POST /auth/refresh with only an access token', () => {
    it('extends the session with a new pair and revokes the access token it was given, on every instance', async () => {
      const owner = await registerOwner(a);
      const session = await login(a, owner.email);

      const res = await request(a.http).post('/api/v1/auth/refresh').set('Authorization', `Bearer ${session.token}`).send({});
      expectWorks(res);
      const next = pairOf(res);
      expect(next.token).not.toBe(session.token);
      expect(next.refreshToken).not.toBe(session.refreshToken);
      expect(sidOf(next.token)).toBe(sidOf(session.token));

      expectError(await me(a, session.token), 401, 'TOKEN_REVOKED');
      await expectCodeWithin(() => me(b, session.token), 401, 'TOKEN_REVOKED');
      expectWorks(await me(a, next.token));
      expectWorks(await me(b, next.token));
      expectWorks(await refresh(b, next.refreshToken));

      // The revoked access token cannot extend the session again.
      const replay = await request(b.http).post('/api/v1/auth/refresh').set('Authorization', `Bearer ${session.token}`).send({});
      expectError(replay, 401, 'TOKEN_REVOKED');
    });

    it('answers 401 TOKEN_MISSING when there is no credential at all', async () => {
      expectError(await request(a.http).post('/api/v1/auth/refresh').send({}), 401, 'TOKEN_MISSING');
      expectError(await request(a.http).post('/api/v1/auth/refresh'), 401, 'TOKEN_MISSING');
    });
  });

  describe('GET and DELETE /auth/sessions', () => {
    it('DELETE /auth/sessions/:id revokes that session everywhere within 1 s and audit-logs it', async () => {
      const owner = await registerOwner(a);
      const victim = await login(a, owner.email);
      const keeper = await login(a, owner.email);
      const victimSid = sidOf(victim.token);

      const res = await deleteSession(a, keeper.token, victimSid);
      expectWorks(res);
      await expectCodeWithin(() => me(a, victim.token), 401, 'TOKEN_REVOKED');
      await expectCodeWithin(() => me(b, victim.token), 401, 'TOKEN_REVOKED');
      expectError(await refresh(b, victim.refreshToken), 401, 'TOKEN_REVOKED');
      expectWorks(await me(b, keeper.token));

      const listed = await listSessions(b, keeper.token);
      expectWorks(listed);
      expect(listed.body.data.map((s: { id: string }) => s.id)).toEqual([sidOf(keeper.token)]);

      // Gone is gone: the same id again is not a live session of this user.
      expectError(await deleteSession(a, keeper.token, victimSid), 404, 'NOT_FOUND');

      const rows = await auditRows(a, keeper.token, 'session_revoked');
      expect(rows.filter((r) => r.metadata?.sessionId === victimSid)).toHaveLength(1);
      expect(rows[0]).toMatchObject({ event: 'session_revoked', actorId: owner.userId, status: 'success' });
    });

    it('DELETE /auth/sessions/:id refuses a malformed id (400), an unknown id and another user\'s session (404)', async () => {
      const owner = await registerOwner(a);
      const other = await registerOwner(a);
      const mine = await login(a, owner.email);
      const theirs = await login(a, other.email);

      const malformed = await deleteSession(a, mine.token, 'not-a-uuid');
      expectError(malformed, 400, 'VALIDATION_FAILED');
      expectError(await deleteSession(a, mine.token, randomUUID()), 404, 'NOT_FOUND');
      expectError(await deleteSession(a, mine.token, sidOf(theirs.token)), 404, 'NOT_FOUND');

      // The other user's session survived the attempt.
      await sleep(100);
      expectWorks(await me(b, theirs.token));
      expectWorks(await refresh(b, theirs.refreshToken));
    });

    it('DELETE /auth/sessions revokes every other session of the user and keeps the current one', async () => {
      const owner = await registerOwner(a);
      const current = await login(a, owner.email);
      const second = await login(a, owner.email);
      const third = await login(b, owner.email);
      const bystander = await login(a, (await registerOwner(a)).email); // another user, untouched

      const res = await request(a.http).delete('/api/v1/auth/sessions').set('Authorization', `Bearer ${current.token}`);
      expectWorks(res);
      expect(res.body.data).toEqual({ revoked: 2 });

      for (const gone of [second, third]) {
        await expectCodeWithin(() => me(a, gone.token), 401, 'TOKEN_REVOKED');
        await expectCodeWithin(() => me(b, gone.token), 401, 'TOKEN_REVOKED');
        expectError(await refresh(a, gone.refreshToken), 401, 'TOKEN_REVOKED');
      }
      expectWorks(await me(a, current.token));
      expectWorks(await me(b, current.token));
      expectWorks(await me(b, bystander.token));

      const listed = await listSessions(a, current.token);
      expect(listed.body.data).toEqual([expect.objectContaining({ id: sidOf(current.token), current: true })]);

      const rows = await auditRows(a, current.token, 'session_revoked');
      const bulk = rows.filter((r) => Array.isArray(r.metadata?.sessionIds));
      expect(bulk).toHaveLength(1);
      expect([...bulk[0].metadata.sessionIds].sort()).toEqual([sidOf(second.token), sidOf(third.token)].sort());
      expect(bulk[0]).toMatchObject({ actorId: owner.userId, status: 'success' });

      // The current session still refreshes.
      expectWorks(await refresh(b, current.refreshToken));
    });

    it('keeps sessions per user: another user can neither see nor delete them', async () => {
      const alice = await registerOwner(a);
      const bob = await registerOwner(a);
      const aliceSession = await login(a, alice.email);
      const bobSession = await login(a, bob.email);
      const bobSecond = await login(b, bob.email);

      const bobList = await listSessions(b, bobSession.token);
      expectWorks(bobList);
      const bobIds = bobList.body.data.map((s: { id: string }) => s.id).sort();
      expect(bobIds).toEqual([sidOf(bobSession.token), sidOf(bobSecond.token)].sort());
      expect(bobIds).not.toContain(sidOf(aliceSession.token));

      expectError(await deleteSession(b, bobSession.token, sidOf(aliceSession.token)), 404, 'NOT_FOUND');
      const bulk = await request(b.http).delete('/api/v1/auth/sessions').set('Authorization', `Bearer ${bobSession.token}`);
      expect(bulk.body.data).toEqual({ revoked: 1 }); // only Bob's own other session

      await sleep(100);
      expectWorks(await me(a, aliceSession.token));
      expectWorks(await me(b, aliceSession.token));
      const aliceList = await listSessions(a, aliceSession.token);
      expect(aliceList.body.data.map((s: { id: string }) => s.id)).toEqual([sidOf(aliceSession.token)]);
    });
  });

  describe('POST /auth/logout', () => {
    it('revokes the session: the old access token is TOKEN_REVOKED on the other instance within 1 s, its refresh token refused', async () => {
      const owner = await registerOwner(a);
      const session = await login(a, owner.email);
      expectWorks(await me(b, session.token)); // B has seen it alive

      const res = await request(a.http).post('/api/v1/auth/logout').set('Authorization', `Bearer ${session.token}`);
      expectWorks(res);
      await expectCodeWithin(() => me(b, session.token), 401, 'TOKEN_REVOKED');
      expectError(await me(a, session.token), 401, 'TOKEN_REVOKED');
      expectError(await refresh(b, session.refreshToken), 401, 'TOKEN_REVOKED');
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Reuse after the grace window (REFRESH_REUSE_GRACE_SECONDS=1), two instances
// ---------------------------------------------------------------------------------------------

describeTwoInstances('refresh reuse after the grace window', () => {
  let a: TestInstance;
  let b: TestInstance;

  beforeAll(async () => {
    const env = { ...BASE_ENV, REFRESH_REUSE_GRACE_SECONDS: '1' };
    a = await startInstance({ env });
    b = await startInstance({ env });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('revokes the whole session, answers 401 TOKEN_REVOKED and audit-logs refresh_reuse_detected', async () => {
    const owner = await registerOwner(a);
    const session = await login(a, owner.email);
    const observer = await login(a, owner.email);

    const first = await refresh(a, session.refreshToken);
    expectWorks(first);
    const successor = pairOf(first);

    await sleep(1200);
    expectError(await refresh(b, session.refreshToken), 401, 'TOKEN_REVOKED');

    expectError(await refresh(a, successor.refreshToken), 401, 'TOKEN_REVOKED');
    for (const token of [session.token, successor.token]) {
      await expectCodeWithin(() => me(a, token), 401, 'TOKEN_REVOKED');
      await expectCodeWithin(() => me(b, token), 401, 'TOKEN_REVOKED');
    }
    expectWorks(await me(b, observer.token));

    const rows = await auditRows(a, observer.token, 'refresh_reuse_detected');
    const mine = rows.filter((r) => r.metadata?.sessionId === sidOf(session.token));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ actorId: owner.userId, status: 'failure', reason: 'TOKEN_REVOKED' });
  });
});

// ---------------------------------------------------------------------------------------------
// Idle expiry (SESSION_IDLE_TIMEOUT=2s)
// ---------------------------------------------------------------------------------------------

describe('idle sessions (SESSION_IDLE_TIMEOUT=2s)', () => {
  let instance: TestInstance;

  beforeAll(async () => {
    instance = await startInstance({ env: { ...BASE_ENV, SESSION_IDLE_TIMEOUT: '2s' } });
  });
  afterAll(() => instance?.close());

  it('refuses a refresh after 2 s of inactivity with 401 TOKEN_EXPIRED and drops the session from the list', async () => {
    const owner = await registerOwner(instance);
    const idle = await login(instance, owner.email);
    const idleSid = sidOf(idle.token);

    await sleep(2200);
    const active = await login(instance, owner.email);
    expectError(await refresh(instance, idle.refreshToken), 401, 'TOKEN_EXPIRED');

    const listed = await listSessions(instance, active.token);
    expectWorks(listed);
    const ids = listed.body.data.map((s: { id: string }) => s.id);
    expect(ids).not.toContain(idleSid);
    expect(ids).toContain(sidOf(active.token));

    // It stays dead.
    const again = await refresh(instance, idle.refreshToken);
    expect(again.status).toBe(401);
    expect(['TOKEN_EXPIRED', 'TOKEN_REVOKED']).toContain(again.body.error.code);
  });

  it('counts idleness from the last use: a session refreshed every 1.2 s outlives the 2 s timeout', async () => {
    const owner = await registerOwner(instance);
    let pair = await login(instance, owner.email);
    for (let i = 0; i < 2; i++) {
      await sleep(1200);
      const res = await refresh(instance, pair.refreshToken);
      expectWorks(res);
      pair = { ...pair, ...pairOf(res) };
    }
    expectWorks(await listSessions(instance, pair.token));
  });
});

// ---------------------------------------------------------------------------------------------
// The session cap (MAX_SESSIONS_PER_USER=3)
// ---------------------------------------------------------------------------------------------

describe('session cap (MAX_SESSIONS_PER_USER=3)', () => {
  let instance: TestInstance;

  beforeAll(async () => {
    instance = await startInstance({ env: { ...BASE_ENV, MAX_SESSIONS_PER_USER: '3' } });
  });
  afterAll(() => instance?.close());

  it('a fourth login evicts the oldest session; the list shows 3 with one current and the device details', async () => {
    const owner: RegisteredOwner = await registerOwner(instance);
    const sessions: LoggedIn[] = [];
    for (let i = 0; i < 4; i++) sessions.push(await loginWithAgent(instance, owner.email, CHROME_ON_MAC));
    const [evicted, ...kept] = sessions;

    expectError(await me(instance, evicted.token), 401, 'TOKEN_REVOKED');
    const refused = await refresh(instance, evicted.refreshToken);
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('TOKEN_REVOKED');
    for (const s of kept) expectWorks(await me(instance, s.token));

    const current = kept[1];
    const listed = await listSessions(instance, current.token);
    expectWorks(listed);
    const items: Array<Record<string, unknown>> = listed.body.data;
    expect(items).toHaveLength(3);
    expect(items.map((s) => s.id).sort()).toEqual(kept.map((s) => sidOf(s.token)).sort());
    expect(items.filter((s) => s.current === true).map((s) => s.id)).toEqual([sidOf(current.token)]);
    expect(items.filter((s) => s.current !== true).every((s) => s.current === false)).toBe(true);
    for (const s of items) {
      expect(typeof s.ip).toBe('string');
      expect(s.ip).toBe('127.0.0.1');
      expect(s.device).toEqual(expect.stringContaining('Chrome'));
      expect(s.createdAt).toMatch(ISO_UTC);
      expect(s.lastSeenAt).toMatch(ISO_UTC);
      expect(new Date(s.createdAt as string).toISOString()).toBe(s.createdAt);
    }
  });

  it('holds the cap for simultaneous logins too', async () => {
    const owner = await registerOwner(instance);
    const sessions = await Promise.all(Array.from({ length: 6 }, () => login(instance, owner.email)));
    const alive = [];
    for (const s of sessions) if ((await me(instance, s.token)).status === 200) alive.push(s);
    expect(alive).toHaveLength(3);
    const listed = await listSessions(instance, alive[0].token);
    expect(listed.body.data).toHaveLength(3);
  });
});

describe('reuse detection tells the user', () => {
  it('mails the user when a rotated refresh token comes back', async () => {
    const { instance, mailbox, close } = await startWithMailbox({ env: { ...BASE_ENV, REFRESH_REUSE_GRACE_SECONDS: '0' } });
    try {
      const owner = await registerOwner(instance);
      const session = await login(instance, owner.email);
      expectWorks(await refresh(instance, session.refreshToken));
      expectError(await refresh(instance, session.refreshToken), 401, 'TOKEN_REVOKED');
      const mail = await mailbox.waitFor(owner.email, { subject: /signed out for your safety/i });
      expect(mail.text).not.toContain(session.refreshToken);
    } finally {
      await close();
    }
  });
});
