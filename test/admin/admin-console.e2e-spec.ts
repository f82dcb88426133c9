import { randomBytes, randomUUID } from 'node:crypto';
import { getDataSourceToken } from '@nestjs/typeorm';
import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { ADMIN_SUITE_ENV, bearer, SignedInAdmin, signedInAdmin } from '../factories/admin.factory';
import { onlyLinkOf, tokenFromLink } from '../factories/mail.factory';
import { login, registerOwner, RegisteredOwner, STRONG_PASSWORD, uniqueEmail } from '../factories/retailer.factory';
import { expectCodeWithin, expectError, expectWorks } from '../support/expectations';
import type { TestMailbox } from '../support/mailbox';
import { hasRedis, startInstance, TestInstance } from '../support/test-app';
import { useMailingInstance } from '../support/with-mailbox';

/**
 * The admin console as support staff use it: find a merchant (by name, email or id, filtered,
 * page by page), look at it, suspend it (everything it holds stops at once, on every instance),
 * lift the suspension, and clear a user's lockout; and what an admin without full access may not
 * do. Two instances share the run's Postgres and Redis for the "every instance within 1 s" rules.
 */

jest.setTimeout(60_000);

// LOGIN_MAX_ATTEMPTS 3: the unlock test locks a user out in three wrong passwords.
const ENV = { ...ADMIN_SUITE_ENV, LOGIN_MAX_ATTEMPTS: '3' };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Shop {
  retailerId: string;
  userId: string;
  email: string;
  name: string;
}

/** Registers a retailer named `name` over HTTP (the retailer factory names every shop alike). */
async function registerShop(instance: TestInstance, name: string, email = uniqueEmail('owner')): Promise<Shop> {
  const res = await request(instance.http).post('/api/v1/auth/register').send({ email, password: STRONG_PASSWORD, name: 'Owner Person', retailerName: name });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { retailerId: res.body.data.retailer.id, userId: res.body.data.user.id, email, name };
}

function passwordLogin(instance: TestInstance, email: string, password = STRONG_PASSWORD) {
  return request(instance.http).post('/api/v1/auth/login').send({ email, password });
}

function reportingMe(instance: TestInstance, key: string) {
  return request(instance.http).get('/api/v1/reporting/me').set('Authorization', `Bearer ${key}`);
}

function marketingMe(instance: TestInstance, key: string) {
  return request(instance.http).get('/api/v1/reactivate/marketing/me').set('X-API-Key', key);
}

/** Polls until the answer is a 200, for at most `withinMs`. */
async function expectWorksWithin(send: () => Promise<Response>, withinMs = 1000): Promise<void> {
  const deadline = Date.now() + withinMs;
  let res = await send();
  while (res.status !== 200 && Date.now() < deadline) {
    await sleep(50);
    res = await send();
  }
  expectWorks(res);
}

describe('admin console', () => {
  const env = useMailingInstance({ env: ENV });
  let a: TestInstance;
  let mailbox: TestMailbox;
  let full: SignedInAdmin;
  let limited: SignedInAdmin;

  beforeAll(async () => {
    ({ instance: a, mailbox } = env());
    full = await signedInAdmin(a, mailbox, { fullAccess: true });
    limited = await signedInAdmin(a, mailbox, { fullAccess: false });
  });

  const db = () => a.app.get<DataSource>(getDataSourceToken());
  const search = (query: Record<string, string | number>, token = limited.token) =>
    bearer(a, token).get(`/admin/retailers?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}`);
  const idsOf = (res: Response) => (res.body.data.items as Array<{ id: string }>).map((i) => i.id);

  describe('search and detail', () => {
    // One marker per run, so the results hold only this file's shops.
    const marker = `Zq${randomBytes(4).toString('hex')}`;
    let shops: Shop[];

    beforeAll(async () => {
      shops = [];
      // Registered one after another: newest first means the reverse of this order.
      for (const label of ['Alpha', 'Beta', 'Gamma']) {
        shops.push(await registerShop(a, `${label} ${marker} Store`));
        await sleep(5);
      }
    });

    it('finds retailers by a part of their name (any case), newest first, with owner emails and user counts', async () => {
      const res = await search({ q: marker.toLowerCase() });
      expectWorks(res);
      expect(idsOf(res)).toEqual(shops.map((s) => s.retailerId).reverse());
      expect(res.body.data.items[0]).toMatchObject({ id: shops[2].retailerId, name: shops[2].name, status: 'active', suspendedAt: null, userCount: 1, ownerEmails: [shops[2].email] });
      expect(res.body.data.nextCursor).toBeNull();

      expect(idsOf(await search({ q: `beta ${marker}` }))).toEqual([shops[1].retailerId]);
    });

    it('finds a retailer by a part of a user email, and by its id', async () => {
      const localPart = shops[0].email.split('@')[0];
      const byEmail = await search({ q: localPart.toUpperCase() });
      expectWorks(byEmail);
      expect(idsOf(byEmail)).toEqual([shops[0].retailerId]);

      const byId = await search({ q: shops[1].retailerId });
      expectWorks(byId);
      expect(idsOf(byId)).toEqual([shops[1].retailerId]);

      // LIKE wildcards in q are plain characters.
      expect(idsOf(await search({ q: `${marker}%` }))).toEqual([]);
      expect(idsOf(await search({ q: randomUUID() }))).toEqual([]);
    });

    it('filters by status', async () => {
      const suspended = await registerShop(a, `Delta ${marker} Suspended`);
      await bearer(a, full.token).post(`/admin/retailers/${suspended.retailerId}/suspend`, { reason: 'chargebacks' }).expect(200);

      expect(idsOf(await search({ q: marker, status: 'suspended' }))).toEqual([suspended.retailerId]);
      expect(idsOf(await search({ q: marker, status: 'active' }))).toEqual(shops.map((s) => s.retailerId).reverse());
      expect((await search({ q: marker, status: 'suspended' })).body.data.items[0]).toMatchObject({ status: 'suspended', suspendedAt: expect.any(String) });
    });

    it('pages with limit=1 along nextCursor: every retailer once, then nextCursor null', async () => {
      const all = idsOf(await search({ q: marker }));
      expect(all.length).toBeGreaterThanOrEqual(3);
      const walked: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < all.length + 2; page++) {
        const res: Response = await search(cursor ? { q: marker, limit: 1, cursor } : { q: marker, limit: 1 });
        expectWorks(res);
        expect(res.body.data.items.length).toBeLessThanOrEqual(1);
        walked.push(...idsOf(res));
        cursor = res.body.data.nextCursor;
        if (!cursor) break;
      }
      expect(cursor).toBeNull();
      expect(new Set(walked).size).toBe(walked.length);
      expect(walked).toEqual(all);
    });

    it('pages without losing retailers that signed up within the same millisecond', async () => {
      const burst = `Burst${randomBytes(4).toString('hex')}`;
      const signups = [await registerShop(a, `${burst} One`), await registerShop(a, `${burst} Two`), await registerShop(a, `${burst} Three`)];
      // HTTP cannot make three sign-ups land in one millisecond on demand; a busy day does. Only
      // the sub-millisecond part of created_at is set here (Postgres keeps microseconds).
      for (const [i, shop] of signups.entries()) {
        await db().query(`UPDATE retailers SET created_at = $2::timestamptz WHERE id = $1`, [shop.retailerId, `2024-03-01T10:00:00.12345${6 - i}Z`]);
      }
      const all = idsOf(await search({ q: burst }));
      expect(all).toEqual(signups.map((s) => s.retailerId));

      const walked: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 5; page++) {
        const res: Response = await search(cursor ? { q: burst, limit: 1, cursor } : { q: burst, limit: 1 });
        expectWorks(res);
        walked.push(...idsOf(res));
        cursor = res.body.data.nextCursor;
        if (!cursor) break;
      }
      expect(walked).toEqual(all);
    });

    it('refuses a cursor it did not issue, a bad limit or status (400 VALIDATION_FAILED), and a malformed id (400)', async () => {
      const refused: Array<Record<string, string | number>> = [{ cursor: 'not-a-cursor' }, { cursor: Buffer.from('{"createdAt":"x","id":"y"}').toString('base64url') }, { limit: 0 }, { limit: 101 }, { status: 'deleted' }];
      for (const query of refused) {
        expectError(await search(query), 400, 'VALIDATION_FAILED');
      }
      expectError(await bearer(a, limited.token).get('/admin/retailers/not-a-uuid'), 400, 'VALIDATION_FAILED');
      expectError(await bearer(a, full.token).post('/admin/retailers/not-a-uuid/suspend'), 400, 'VALIDATION_FAILED');
    });

    it('shows a retailer with its users, keys and sessions; an unknown id is 404 NOT_FOUND', async () => {
      const owner = await registerOwner(a);
      await login(a, owner.email);
      const res = await bearer(a, limited.token).get(`/admin/retailers/${owner.retailerId}`);
      expectWorks(res);
      expect(res.body.data).toMatchObject({
        retailer: { id: owner.retailerId, status: 'active' },
        users: [{ id: owner.userId, email: owner.email, role: 'owner', mfaEnabled: false }],
        apiKeys: { active: 0, total: 0 },
        liveSessions: 1,
        recentImpersonations: [],
      });
      // Nothing secret about the users leaks into the console.
      expect(JSON.stringify(res.body.data)).not.toMatch(/\$2[ab]\$|password/i);

      expectError(await bearer(a, limited.token).get(`/admin/retailers/${randomUUID()}`), 404, 'NOT_FOUND');
      expectError(await bearer(a, full.token).post(`/admin/retailers/${randomUUID()}/suspend`), 404, 'NOT_FOUND');
      expectError(await bearer(a, full.token).post(`/admin/users/${randomUUID()}/unlock`), 404, 'NOT_FOUND');
    });
  });

  it('an admin without full access cannot suspend, unsuspend or unlock (403 FORBIDDEN), and nothing changes', async () => {
    const owner = await registerOwner(a);
    const session = await login(a, owner.email);

    expectError(await bearer(a, limited.token).post(`/admin/retailers/${owner.retailerId}/suspend`, { reason: 'no' }), 403, 'FORBIDDEN');
    expectWorks(await bearer(a, session.token).get('/auth/me'));
    expectWorks(await passwordLogin(a, owner.email));

    await bearer(a, full.token).post(`/admin/retailers/${owner.retailerId}/suspend`).expect(200);
    expectError(await bearer(a, limited.token).post(`/admin/retailers/${owner.retailerId}/unsuspend`), 403, 'FORBIDDEN');
    expectError(await passwordLogin(a, owner.email), 403, 'ACCOUNT_SUSPENDED');

    await bearer(a, full.token).post(`/admin/retailers/${owner.retailerId}/unsuspend`).expect(200);
    for (let i = 0; i < 3; i++) expectError(await passwordLogin(a, owner.email, 'not the password at all'), 401, 'INVALID_CREDENTIALS');
    expectError(await bearer(a, limited.token).post(`/admin/users/${owner.userId}/unlock`), 403, 'FORBIDDEN');
    expectError(await passwordLogin(a, owner.email), 429, 'TOO_MANY_ATTEMPTS');

    const rows = (await db().query(`SELECT event FROM audit_logs WHERE retailer_id = $1 AND actor_id = $2`, [owner.retailerId, limited.id])) as unknown[];
    expect(rows).toEqual([]);
  });

  it('full access taken away after sign-in applies at once: the same token can no longer suspend', async () => {
    const demoted = await signedInAdmin(a, mailbox, { fullAccess: true });
    const owner = await registerOwner(a);
    await db().query(`UPDATE admins SET full_access = false WHERE id = $1`, [demoted.id]);

    expect((await bearer(a, demoted.token).get('/admin/me')).body.data.fullAccess).toBe(false);
    expectError(await bearer(a, demoted.token).post(`/admin/retailers/${owner.retailerId}/suspend`), 403, 'FORBIDDEN');
    expectWorks(await passwordLogin(a, owner.email));
  });

  it('unlock: a user locked out by LOGIN_MAX_ATTEMPTS wrong passwords signs in after an admin unlocks; audit-logged', async () => {
    const owner = await registerOwner(a);
    for (let i = 0; i < 3; i++) expectError(await passwordLogin(a, owner.email, 'not the password at all'), 401, 'INVALID_CREDENTIALS');
    const locked = await passwordLogin(a, owner.email);
    expectError(locked, 429, 'TOO_MANY_ATTEMPTS');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);

    const unlocked = await bearer(a, full.token).post(`/admin/users/${owner.userId}/unlock`);
    expectWorks(unlocked);

    const signedIn = await passwordLogin(a, owner.email);
    expectWorks(signedIn);
    // The owner sees who unlocked the account in the audit log.
    const audit = await bearer(a, signedIn.body.data.token).get('/audit-logs?event=user_unlocked');
    expectWorks(audit);
    expect(audit.body.data.items).toEqual([
      expect.objectContaining({ event: 'user_unlocked', actorType: 'admin', actorId: full.id, retailerId: owner.retailerId, status: 'success', metadata: expect.objectContaining({ userId: owner.userId }) }),
    ]);
  });

  // Two instances only share revocations through Redis (without it they converge at the resync).
  const describeTwoInstances = hasRedis() ? describe : describe.skip; // reason: no Redis reachable in this run

  describeTwoInstances('suspension, seen from a second instance', () => {
    let b: TestInstance;
    beforeAll(async () => {
      // Its mail worker shares the outbox: it must deliver to this file's mailbox too.
      b = await startInstance({ env: { ...ENV, SMTP_URL: mailbox.url, MAIL_POLL_INTERVAL: '200ms' } });
    });
    afterAll(() => b?.close());

    let owner: RegisteredOwner;
    let session: { token: string; refreshToken: string };
    let key: { id: string; key: string };
    let marketingKey: string;

    it('suspending revokes sessions and refuses keys (reporting and reactivate) on every instance within 1 s; sign-ins answer ACCOUNT_SUSPENDED', async () => {
      owner = await registerOwner(a);
      session = await login(a, owner.email);
      const created = await bearer(a, session.token).post('/api-keys', { name: 'BI export', type: 'reporting', scopes: ['reporting:read'] });
      expect({ status: created.status, error: created.body.error }).toEqual({ status: 201, error: undefined });
      key = { id: created.body.data.id, key: created.body.data.key };
      const marketing = await bearer(a, session.token).post('/api-keys', { name: 'Campaigns', type: 'reactivate', scopes: ['reactivate:marketing'] });
      expect(marketing.status).toBe(201);
      marketingKey = marketing.body.data.key;
      // All are known (and cached) on B before the suspension.
      expectWorks(await bearer(b, session.token).get('/auth/me'));
      expectWorks(await reportingMe(b, key.key));
      expectWorks(await marketingMe(b, marketingKey));
      // A sign-in link asked for before the suspension.
      const seen = mailbox.messages.length;
      await request(a.http).post('/api/v1/auth/magic-link').send({ email: owner.email }).expect(202);
      const pendingLink = tokenFromLink(onlyLinkOf(await mailbox.waitFor(owner.email, { after: seen, subject: /sign-in link/i })));

      const suspended = await bearer(a, full.token).post(`/admin/retailers/${owner.retailerId}/suspend`, { reason: 'fraud review 17' });
      expectWorks(suspended);
      expect(suspended.body.data).toMatchObject({ retailer: { id: owner.retailerId, status: 'suspended', suspendedAt: expect.any(String) }, sessionsRevoked: 1 });

      await expectCodeWithin(() => bearer(b, session.token).get('/auth/me'), 401, 'TOKEN_REVOKED');
      await expectCodeWithin(() => reportingMe(b, key.key), 401, 'TOKEN_REVOKED');
      await expectCodeWithin(() => marketingMe(b, marketingKey), 401, 'TOKEN_REVOKED');
      expectError(await request(b.http).post('/api/v1/auth/refresh').send({ refreshToken: session.refreshToken }), 401, 'TOKEN_REVOKED');

      // The right password says suspended; a wrong one says nothing more than for anyone.
      const right = await passwordLogin(b, owner.email);
      expectError(right, 403, 'ACCOUNT_SUSPENDED');
      expect(right.body.data).toBeUndefined();
      expectError(await passwordLogin(b, owner.email, 'not the password at all'), 401, 'INVALID_CREDENTIALS');

      // A magic link opens no session: the pending one is refused, a new one is never sent.
      const viaLink = await request(a.http).post('/api/v1/auth/magic-link/verify').send({ token: pendingLink });
      expectError(viaLink, 403, 'ACCOUNT_SUSPENDED');
      expect([viaLink.headers['set-cookie'] ?? []].flat().join(';')).not.toContain('retailer_access_token=');
      const control = await registerOwner(a);
      const before = mailbox.messages.length;
      await request(a.http).post('/api/v1/auth/magic-link').send({ email: owner.email }).expect(202);
      await request(a.http).post('/api/v1/auth/magic-link').send({ email: control.email }).expect(202);
      await mailbox.waitFor(control.email, { after: before });
      expect(mailbox.messages.slice(before).filter((m) => m.to.includes(owner.email))).toEqual([]);

      const detail = await bearer(a, limited.token).get(`/admin/retailers/${owner.retailerId}`);
      expect(detail.body.data).toMatchObject({ retailer: { status: 'suspended' }, liveSessions: 0, apiKeys: { active: 2 } });

      const rows = (await db().query(`SELECT actor_type, actor_id, status, reason FROM audit_logs WHERE event = 'retailer_suspended' AND retailer_id = $1`, [owner.retailerId])) as unknown[];
      expect(rows).toEqual([{ actor_type: 'admin', actor_id: full.id, status: 'success', reason: 'fraud review 17' }]);
    });

    it('unsuspending lets the keys work again (on every instance); the old session stays revoked; the password signs in', async () => {
      expect(key).toBeDefined();
      const lifted = await bearer(a, full.token).post(`/admin/retailers/${owner.retailerId}/unsuspend`);
      expectWorks(lifted);
      expect(lifted.body.data.retailer).toMatchObject({ status: 'active', suspendedAt: null });

      await expectWorksWithin(() => reportingMe(b, key.key));
      await expectWorksWithin(() => marketingMe(b, marketingKey));
      expect((await reportingMe(b, key.key)).body.data).toMatchObject({ retailerId: owner.retailerId, keyId: key.id });
      expectError(await bearer(b, session.token).get('/auth/me'), 401, 'TOKEN_REVOKED');
      expectError(await bearer(a, session.token).get('/auth/me'), 401, 'TOKEN_REVOKED');
      expectError(await request(a.http).post('/api/v1/auth/refresh').send({ refreshToken: session.refreshToken }), 401, 'TOKEN_REVOKED');

      const again = await passwordLogin(b, owner.email);
      expectWorks(again);
      expectWorks(await bearer(a, again.body.data.token).get('/auth/me'));

      const audit = await bearer(a, again.body.data.token).get('/audit-logs?event=retailer_unsuspended');
      expect(audit.body.data.items).toEqual([expect.objectContaining({ actorType: 'admin', actorId: full.id, retailerId: owner.retailerId, status: 'success' })]);
    });
  });
});
