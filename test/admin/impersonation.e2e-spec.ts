import { randomUUID } from 'node:crypto';
import { getDataSourceToken } from '@nestjs/typeorm';
import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { loadAppConfig } from '@app/common/config';
import { ADMIN_SUITE_ENV, bearer, impersonate, SignedInAdmin, signedInAdmin, startImpersonation } from '../factories/admin.factory';
import { login, registerOwner, RegisteredOwner, STRONG_PASSWORD } from '../factories/retailer.factory';
import { addMember } from '../factories/team.factory';
import { expectCodeWithin, expectError, expectWorks } from '../support/expectations';
import { decodeJwt, forgeJwt, kidOf } from '../support/jwt-forge';
import type { TestMailbox } from '../support/mailbox';
import { hasRedis, startInstance, TEST_SECRETS, TestInstance } from '../support/test-app';
import { useMailingInstance } from '../support/with-mailbox';

/**
 * An admin acting as a merchant, as the merchant and the admin see it: the owners are told, the
 * admin sees the shop as its owner does (read-only without full access), can never touch the
 * shop's credentials, every request is in the shop's audit log under the admin's name, and the
 * access ends when the admin ends it, signs out of it, the shop is suspended, or at most 1 h.
 * Tokens are forged only to prove what the guards ignore or refuse.
 *
 * With Redis, a second instance shows that an ended impersonation is refused everywhere within
 * 1 s; without it, the same checks run on the one instance.
 */

jest.setTimeout(60_000);

const ADMIN_SECRET = TEST_SECRETS.ADMIN_JWT_PRIVATE_KEY!;
const RETAILER_SECRET = TEST_SECRETS.RETAILER_JWT_PRIVATE_KEY!;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Merchant extends RegisteredOwner {
  /** The owner's own access token. */
  token: string;
}

interface AuditItem {
  event: string;
  actorType: string;
  actorId: string | null;
  retailerId: string | null;
  impersonatorId: string | null;
  status: string;
  reason: string | null;
  metadata: Record<string, unknown>;
}

describe('impersonation', () => {
  const env = useMailingInstance({ env: ADMIN_SUITE_ENV });
  let a: TestInstance;
  let b: TestInstance | undefined;
  let mailbox: TestMailbox;
  let full: SignedInAdmin;
  let limited: SignedInAdmin;

  beforeAll(async () => {
    ({ instance: a, mailbox } = env());
    // Its mail worker shares the outbox: it delivers to this file's mailbox too.
    if (hasRedis()) b = await startInstance({ env: { ...ADMIN_SUITE_ENV, SMTP_URL: mailbox.url, MAIL_POLL_INTERVAL: '200ms' } });
    full = await signedInAdmin(a, mailbox, { fullAccess: true });
    limited = await signedInAdmin(a, mailbox, { fullAccess: false });
  });
  afterAll(() => b?.close());

  /** The instance where "everywhere within 1 s" is checked: a second one when Redis shares revocations. */
  const other = () => b ?? a;
  const as = (token: string, instance: TestInstance = a) => bearer(instance, token);

  async function merchant(): Promise<Merchant> {
    const owner = await registerOwner(a);
    return { ...owner, token: (await login(a, owner.email)).token };
  }

  /** The `impersonated_request` rows of one impersonation, oldest first, as the owner reads them. */
  async function impersonatedRows(owner: Merchant, impersonationId: string): Promise<AuditItem[]> {
    const res = await as(owner.token).get('/audit-logs?event=impersonated_request&limit=200');
    expectWorks(res);
    return (res.body.data.items as AuditItem[]).filter((i) => i.metadata.impersonationId === impersonationId).reverse();
  }

  /** What every row of an impersonation says, whatever the request. */
  const rowOf = (admin: SignedInAdmin, retailerId: string, reason: string, status: 'success' | 'failure', method: string, route: string) =>
    expect.objectContaining({
      event: 'impersonated_request',
      actorType: 'admin',
      actorId: admin.id,
      retailerId,
      impersonatorId: admin.id,
      reason,
      status,
      metadata: expect.objectContaining({ method, route }),
    });

  describe('read-only', () => {
    it('an admin without full access sees the shop as its owner; the owners are mailed; unsafe requests are 403 and change nothing', async () => {
      const owner = await merchant();
      const coOwner = await addMember(a, mailbox, owner.token, { role: 'owner' });
      const reason = 'ticket 981: dashboard stays blank';
      const seen = mailbox.messages.length;

      const started = await startImpersonation(a, limited.token, { retailerId: owner.retailerId, reason });
      expect(started.status).toBe(201);
      const imp = started.body.data;
      expect(imp).toEqual({ id: expect.stringMatching(UUID), token: expect.any(String), expiresAt: expect.any(String), retailerId: owner.retailerId, fullAccess: false });

      for (const email of [owner.email, coOwner.email]) {
        const mail = await mailbox.waitFor(email, { after: seen, subject: /accessing your/i });
        expect(mail.text).toContain(reason);
        expect(mail.text).toContain(limited.email);
        expect(mail.text).toMatch(/read-only/);
      }

      const me = await as(imp.token).get('/auth/me');
      expectWorks(me);
      expect(me.body.data).toMatchObject({
        user: { id: owner.userId, email: owner.email },
        retailer: { id: owner.retailerId },
        impersonatedBy: { adminId: limited.id, email: limited.email, impersonationId: imp.id, fullAccess: false, reason },
      });
      expect((me.body.data.permissions as string[]).every((p) => p.endsWith(':read'))).toBe(true);

      const members = await as(imp.token).get('/team/members');
      expectWorks(members);
      expect((members.body.data as Array<{ email: string }>).map((m) => m.email).sort()).toEqual([owner.email, coOwner.email].sort());

      expectError(await as(imp.token).post('/roles', { name: 'Made By Support', permissions: { reports: ['read'] } }), 403, 'FORBIDDEN');
      expectError(await as(imp.token).patch(`/team/members/${coOwner.userId}`, { role: 'viewer' }), 403, 'FORBIDDEN');

      const roles = await as(owner.token).get('/roles');
      expect(JSON.stringify(roles.body.data)).not.toContain('Made By Support');
      const after = await as(owner.token).get('/team/members');
      expect((after.body.data as Array<{ id: string; role: string }>).find((m) => m.id === coOwner.userId)?.role).toBe('owner');

      expect(await impersonatedRows(owner, imp.id)).toEqual([
        rowOf(limited, owner.retailerId, reason, 'success', 'GET', '/api/v1/auth/me'),
        rowOf(limited, owner.retailerId, reason, 'success', 'GET', '/api/v1/team/members'),
        rowOf(limited, owner.retailerId, reason, 'failure', 'POST', '/api/v1/roles'),
        rowOf(limited, owner.retailerId, reason, 'failure', 'PATCH', '/api/v1/team/members/:id'),
      ]);
    });

    it('a full-access admin asking readOnly: true gets a read-only impersonation', async () => {
      const owner = await merchant();
      const imp = await impersonate(a, full.token, owner.retailerId, 'look only', { readOnly: true });
      expect(imp.fullAccess).toBe(false);
      expect((await as(imp.token).get('/auth/me')).body.data.impersonatedBy).toMatchObject({ adminId: full.id, fullAccess: false });
      expectError(await as(imp.token).post('/roles', { name: 'Nope', permissions: { reports: ['read'] } }), 403, 'FORBIDDEN');
      expect(JSON.stringify((await as(owner.token).get('/roles')).body.data)).not.toContain('Nope');
    });
  });

  describe('full access', () => {
    it('changes the shop as its owner would: creates a role, changes a member', async () => {
      const owner = await merchant();
      const member = await addMember(a, mailbox, owner.token, { role: 'analyst' });
      const reason = 'migration help, ticket 1200';
      const imp = await impersonate(a, full.token, owner.retailerId, reason);
      expect(imp.fullAccess).toBe(true);

      const role = await as(imp.token).post('/roles', { name: 'Merchandiser', permissions: { reports: ['read', 'write'] } });
      expect({ status: role.status, error: role.body.error }).toEqual({ status: 201, error: undefined });
      const patched = await as(imp.token).patch(`/team/members/${member.userId}`, { role: 'viewer' });
      expectWorks(patched);

      expect(JSON.stringify((await as(owner.token).get('/roles')).body.data)).toContain('Merchandiser');
      const members = (await as(owner.token).get('/team/members')).body.data as Array<{ id: string; role: string }>;
      expect(members.find((m) => m.id === member.userId)?.role).toBe('viewer');

      expect(await impersonatedRows(owner, imp.id)).toEqual([
        rowOf(full, owner.retailerId, reason, 'success', 'POST', '/api/v1/roles'),
        rowOf(full, owner.retailerId, reason, 'success', 'PATCH', '/api/v1/team/members/:id'),
      ]);
    });

    it("still cannot touch the shop's credentials (403 FORBIDDEN), nothing changes, and every attempt is audit-logged", async () => {
      const owner = await merchant();
      const second = await login(a, owner.email);
      const secondSid = decodeJwt(second.token).payload.sid as string;
      const key = await as(owner.token).post('/api-keys', { name: 'BI export', type: 'reporting', scopes: ['reporting:read'] });
      expect(key.status).toBe(201);
      const reason = 'credential probe';
      const imp = await impersonate(a, full.token, owner.retailerId, reason);
      const attempts: Array<[string, string, () => Promise<Response>]> = [
        ['POST', '/api/v1/auth/password/change', () => as(imp.token).post('/auth/password/change', { currentPassword: STRONG_PASSWORD, newPassword: 'an entirely new passphrase 77' })],
        ['POST', '/api/v1/auth/mfa/totp/setup', () => as(imp.token).post('/auth/mfa/totp/setup')],
        ['POST', '/api/v1/auth/mfa/email-otp/enable', () => as(imp.token).post('/auth/mfa/email-otp/enable')],
        ['DELETE', '/api/v1/auth/sessions', () => as(imp.token).delete('/auth/sessions')],
        ['DELETE', '/api/v1/auth/sessions/:id', () => as(imp.token).delete(`/auth/sessions/${secondSid}`)],
        ['POST', '/api/v1/api-keys', () => as(imp.token).post('/api-keys', { name: 'backdoor', type: 'reporting', scopes: ['reporting:read'] })],
        ['POST', '/api/v1/api-keys/:id/rotate', () => as(imp.token).post(`/api-keys/${key.body.data.id}/rotate`)],
        ['DELETE', '/api/v1/api-keys/:id', () => as(imp.token).delete(`/api-keys/${key.body.data.id}`)],
        ['POST', '/api/v1/auth/refresh', () => as(imp.token).post('/auth/refresh')],
      ];
      for (const [method, route, send] of attempts) {
        const res = await send();
        expect({ route: `${method} ${route}`, status: res.status, code: res.body?.error?.code }).toEqual({ route: `${method} ${route}`, status: 403, code: 'FORBIDDEN' });
        expect(res.body.data).toBeUndefined();
      }

      // Nothing changed: the password, both sessions, the one key, no second factor.
      expectWorks(await request(a.http).post('/api/v1/auth/login').send({ email: owner.email, password: STRONG_PASSWORD }));
      expectWorks(await as(owner.token).get('/auth/me'));
      expectWorks(await as(second.token).get('/auth/me'));
      const keys = await as(owner.token).get('/api-keys');
      expect((keys.body.data as Array<{ id: string }>).map((k) => k.id)).toEqual([key.body.data.id]);
      expectWorks(await as(key.body.data.key as string).get('/reporting/me'));
      const members = (await as(owner.token).get('/team/members')).body.data as Array<{ id: string; mfaEnabled: boolean }>;
      expect(members.find((m) => m.id === owner.userId)?.mfaEnabled).toBe(false);
      // The impersonation itself is still live (refusals do not end it).
      expectWorks(await as(imp.token).get('/auth/me'));

      const rows = await impersonatedRows(owner, imp.id);
      expect(rows).toEqual([
        ...attempts.map(([method, route]) => rowOf(full, owner.retailerId, reason, 'failure', method, route)),
        rowOf(full, owner.retailerId, reason, 'success', 'GET', '/api/v1/auth/me'),
      ]);
      expect(rows.slice(0, attempts.length).every((r) => r.metadata.refused === 'credentials')).toBe(true);
    });
  });

  describe('outcomes and invitations', () => {
    it('an allowed request that the handler refuses is audited as a failure with its status', async () => {
      const owner = await merchant();
      const imp = await impersonate(a, full.token, owner.retailerId, 'bad body');
      const bad = await as(imp.token).post('/roles').send({ name: '', permissions: { nothing: ['read'] } });
      expectError(bad, 400, 'VALIDATION_FAILED');
      expectWorks(await as(imp.token).get('/team/members'));
      const rows = await impersonatedRows(owner, imp.id);
      expect(rows).toEqual([
        expect.objectContaining({ status: 'failure', metadata: expect.objectContaining({ method: 'POST', route: '/api/v1/roles', httpStatus: 400 }) }),
        expect.objectContaining({ status: 'success', metadata: expect.objectContaining({ method: 'GET', route: '/api/v1/team/members', httpStatus: 200 }) }),
      ]);
    });

    it('even with full access, an admin cannot invite someone (an invitation outlives the impersonation)', async () => {
      const owner = await merchant();
      const imp = await impersonate(a, full.token, owner.retailerId, 'invite attempt');
      expectError(await as(imp.token).post('/team/invite').send({ email: `intruder.${randomUUID().slice(0, 8)}@evil.example`, role: 'owner' }), 403, 'FORBIDDEN');
      const members = await as(owner.token).get('/team/members');
      expect(members.body.data).toHaveLength(1);
      expect(await impersonatedRows(owner, imp.id)).toEqual([expect.objectContaining({ status: 'failure', metadata: expect.objectContaining({ refused: 'credentials', route: '/api/v1/team/invite' }) })]);
    });
  });

  describe('full access taken away', () => {
    it('applies at once to a live impersonation, as it does at the console: it becomes read-only', async () => {
      const admin = await signedInAdmin(a, mailbox, { fullAccess: true });
      const owner = await merchant();
      const imp = await impersonate(a, admin.token, owner.retailerId, 'before the downgrade');
      expect(imp.fullAccess).toBe(true);
      await a.app.get<DataSource>(getDataSourceToken()).query(`UPDATE admins SET full_access = false WHERE id = $1`, [admin.id]);

      // The console already answers for the same token that it has no full access...
      expect((await as(imp.token).get('/admin/me')).body.data.fullAccess).toBe(false);
      // ...so as the merchant it may only read.
      expect((await as(imp.token).get('/auth/me')).body.data.impersonatedBy.fullAccess).toBe(false);
      expectError(await as(imp.token).post('/roles', { name: 'After Downgrade', permissions: { reports: ['read'] } }), 403, 'FORBIDDEN');
      expect(JSON.stringify((await as(owner.token).get('/roles')).body.data)).not.toContain('After Downgrade');
    });
  });

  describe('ending', () => {
    it('DELETE /admin/impersonations/:id revokes the token on every instance within 1 s', async () => {
      const owner = await merchant();
      const imp = await impersonate(a, limited.token, owner.retailerId, 'short look');
      expectWorks(await as(imp.token, other()).get('/auth/me'));

      // Another admin without full access may not end it.
      const bystander = await signedInAdmin(a, mailbox, { fullAccess: false });
      expectError(await as(bystander.token).delete(`/admin/impersonations/${imp.id}`), 403, 'FORBIDDEN');
      expectWorks(await as(imp.token, other()).get('/auth/me'));
      expectError(await as(limited.token).delete(`/admin/impersonations/${randomUUID()}`), 404, 'NOT_FOUND');

      expectWorks(await as(limited.token).delete(`/admin/impersonations/${imp.id}`));
      await expectCodeWithin(() => as(imp.token, other()).get('/auth/me'), 401, 'TOKEN_REVOKED');
      expectError(await as(imp.token).get('/auth/me'), 401, 'TOKEN_REVOKED');
      expectWorks(await as(owner.token).get('/auth/me'));

      const detail = await as(limited.token).get(`/admin/retailers/${owner.retailerId}`);
      expect(detail.body.data.recentImpersonations).toEqual([expect.objectContaining({ id: imp.id, adminId: limited.id, reason: 'short look', endedAt: expect.any(String) })]);
      const ended = (await as(owner.token).get('/audit-logs?event=impersonation_ended')).body.data.items as AuditItem[];
      expect(ended).toEqual([expect.objectContaining({ actorType: 'admin', actorId: limited.id, impersonatorId: limited.id, retailerId: owner.retailerId, reason: 'short look' })]);
    });

    it("POST /auth/logout with the impersonation token ends it; the owner's own session keeps working", async () => {
      const owner = await merchant();
      const imp = await impersonate(a, limited.token, owner.retailerId, 'done soon');
      expectWorks(await as(imp.token, other()).get('/auth/me'));

      // Read-only, yet signing out of its own access is allowed.
      expectWorks(await as(imp.token).post('/auth/logout'));
      await expectCodeWithin(() => as(imp.token, other()).get('/auth/me'), 401, 'TOKEN_REVOKED');

      expectWorks(await as(owner.token).get('/auth/me'));
      const sessions = await as(owner.token).get('/auth/sessions');
      expect(sessions.body.data).toEqual([expect.objectContaining({ current: true })]);
      const detail = await as(limited.token).get(`/admin/retailers/${owner.retailerId}`);
      expect(detail.body.data.recentImpersonations[0]).toMatchObject({ id: imp.id, endedAt: expect.any(String) });
      // The admin's own console token is untouched.
      expectWorks(await as(limited.token).get('/admin/me'));
    });

    it('POST /admin/auth/logout with the impersonation token ends the impersonation too', async () => {
      const owner = await merchant();
      const imp = await impersonate(a, full.token, owner.retailerId, 'console sign-out');
      expectWorks(await as(imp.token).post('/admin/auth/logout'));
      await expectCodeWithin(() => as(imp.token, other()).get('/auth/me'), 401, 'TOKEN_REVOKED');
      const detail = await as(full.token).get(`/admin/retailers/${owner.retailerId}`);
      expect(detail.body.data.recentImpersonations[0]).toMatchObject({ id: imp.id, endedAt: expect.any(String) });
      const ended = await as(owner.token).get('/audit-logs?event=impersonation_ended');
      expect(ended.body.data.items).toEqual([expect.objectContaining({ actorType: 'admin', actorId: full.id, metadata: expect.objectContaining({ impersonationId: imp.id, via: 'admin_logout' }) })]);
      expectWorks(await as(full.token).get('/admin/me'));
    });

    it('suspending the retailer ends its live impersonations everywhere; unsuspending does not revive them', async () => {
      const owner = await merchant();
      const imp = await impersonate(a, full.token, owner.retailerId, 'before suspension');
      expectWorks(await as(imp.token, other()).get('/auth/me'));

      expectWorks(await as(full.token).post(`/admin/retailers/${owner.retailerId}/suspend`, { reason: 'abuse' }));
      await expectCodeWithin(() => as(imp.token, other()).get('/auth/me'), 401, 'TOKEN_REVOKED');

      expectWorks(await as(full.token).post(`/admin/retailers/${owner.retailerId}/unsuspend`));
      expectError(await as(imp.token).get('/auth/me'), 401, 'TOKEN_REVOKED');
      expectError(await as(imp.token, other()).get('/auth/me'), 401, 'TOKEN_REVOKED');
    });

    it("a disabled admin's impersonation token is TOKEN_REVOKED", async () => {
      const owner = await merchant();
      const admin = await signedInAdmin(a, mailbox, { fullAccess: false });
      const imp = await impersonate(a, admin.token, owner.retailerId, 'leaving staff');
      expectWorks(await as(imp.token).get('/auth/me'));
      await a.app.get<DataSource>(getDataSourceToken()).query(`UPDATE admins SET status = 'disabled' WHERE id = $1`, [admin.id]);
      expectError(await as(imp.token).get('/auth/me'), 401, 'TOKEN_REVOKED');
    });
  });

  describe('starting', () => {
    it('refuses an impersonation without a reason (400), of an unknown retailer (404), of a suspended one (403 ACCOUNT_SUSPENDED)', async () => {
      const owner = await merchant();
      const seen = mailbox.messages.length;

      const noReason = await startImpersonation(a, full.token, { retailerId: owner.retailerId });
      expectError(noReason, 400, 'VALIDATION_FAILED');
      expect((noReason.body.error.details as Array<{ field: string }>).map((d) => d.field)).toContain('reason');
      expectError(await startImpersonation(a, full.token, { retailerId: owner.retailerId, reason: '   ' }), 400, 'VALIDATION_FAILED');
      expectError(await startImpersonation(a, full.token, { retailerId: 'not-a-uuid', reason: 'why not' }), 400, 'VALIDATION_FAILED');
      expectError(await startImpersonation(a, full.token, { retailerId: owner.retailerId, reason: 'extra', ttl: 86400 }), 400, 'VALIDATION_FAILED');
      expectError(await startImpersonation(a, full.token, { retailerId: randomUUID(), reason: 'ghost shop' }), 404, 'NOT_FOUND');

      await as(full.token).post(`/admin/retailers/${owner.retailerId}/suspend`).expect(200);
      expectError(await startImpersonation(a, full.token, { retailerId: owner.retailerId, reason: 'look at suspended' }), 403, 'ACCOUNT_SUSPENDED');

      const detail = await as(full.token).get(`/admin/retailers/${owner.retailerId}`);
      expect(detail.body.data.recentImpersonations).toEqual([]);
      // Let a mail worker pass: no owner was told of an impersonation that never started.
      await sleep(600);
      expect(mailbox.messages.slice(seen).filter((m) => m.to.includes(owner.email))).toEqual([]);
    });

    it('the token: the admin key, aud retailer, act.sub the retailer, sid the impersonation, at most 1 h', async () => {
      const owner = await merchant();
      const imp = await impersonate(a, full.token, owner.retailerId);
      const { header, payload } = decodeJwt(imp.token);
      expect(header).toMatchObject({ alg: 'HS256', kid: kidOf(ADMIN_SECRET) });
      expect(payload).toMatchObject({ iss: a.config.jwt.issuer, aud: ['retailer'], sub: full.id, act: { sub: owner.retailerId }, sid: imp.id, fullAccess: true });
      const lifetime = (payload.exp as number) - (payload.iat as number);
      expect(lifetime).toBeGreaterThan(0);
      expect(lifetime).toBeLessThanOrEqual(3600);
      expect(new Date(imp.expiresAt).getTime()).toBe((payload.exp as number) * 1000);
    });

    it('IMPERSONATION_TTL above 1 h stops the start; at most 1 h is taken', () => {
      const base = { NODE_ENV: 'test', DATABASE_URL: process.env.E2E_DATABASE_URL, ...TEST_SECRETS };
      expect(() => loadAppConfig({ ...base, IMPERSONATION_TTL: '2h' })).toThrow(/IMPERSONATION_TTL/);
      expect(() => loadAppConfig({ ...base, IMPERSONATION_TTL: '61m' })).toThrow(/IMPERSONATION_TTL/);
      expect(loadAppConfig({ ...base, IMPERSONATION_TTL: '1h' }).auth.impersonationTtlMs).toBe(3_600_000);
    });

    it('with IMPERSONATION_TTL=2s the token is TOKEN_EXPIRED after 2.5 s', async () => {
      const short = await startInstance({ env: { ...ADMIN_SUITE_ENV, IMPERSONATION_TTL: '2s', SMTP_URL: mailbox.url, MAIL_POLL_INTERVAL: '200ms' } });
      try {
        const owner = await merchant();
        // The console token of instance A is good on this instance too (same secrets).
        const imp = await impersonate(short, full.token, owner.retailerId, 'two seconds');
        const { payload } = decodeJwt(imp.token);
        expect((payload.exp as number) - (payload.iat as number)).toBe(2);
        expectWorks(await as(imp.token, short).get('/auth/me'));
        await sleep(2500);
        expectError(await as(imp.token, short).get('/auth/me'), 401, 'TOKEN_EXPIRED');
        expectError(await as(imp.token).get('/auth/me'), 401, 'TOKEN_EXPIRED');
      } finally {
        await short.close();
      }
    });
  });

  describe('at the admin console', () => {
    it('an impersonation token passes /admin/me but cannot start another impersonation, suspend, unlock or enrol TOTP (403)', async () => {
      const owner = await merchant();
      const target = await merchant();
      const imp = await impersonate(a, full.token, owner.retailerId);

      const me = await as(imp.token).get('/admin/me');
      expectWorks(me);
      expect(me.body.data).toMatchObject({ admin: { id: full.id }, fullAccess: true });

      expectError(await startImpersonation(a, imp.token, { retailerId: target.retailerId, reason: 'chain' }), 403, 'FORBIDDEN');
      expectError(await as(imp.token).post(`/admin/retailers/${target.retailerId}/suspend`), 403, 'FORBIDDEN');
      expectError(await as(imp.token).post(`/admin/retailers/${owner.retailerId}/suspend`), 403, 'FORBIDDEN');
      expectError(await as(imp.token).post(`/admin/users/${target.userId}/unlock`), 403, 'FORBIDDEN');
      expectError(await as(imp.token).post('/admin/auth/totp/setup'), 403, 'FORBIDDEN');

      const detail = await as(full.token).get(`/admin/retailers/${target.retailerId}`);
      expect(detail.body.data).toMatchObject({ retailer: { status: 'active' }, recentImpersonations: [] });
      expect((await as(full.token).get(`/admin/retailers/${owner.retailerId}`)).body.data.retailer.status).toBe('active');
    });
  });

  describe('forged claims', () => {
    it("an act claim inside a retailer token is ignored: the request is the retailer's own", async () => {
      const owner = await merchant();
      const victim = await merchant();
      const { header, payload } = decodeJwt(owner.token);
      const forged = forgeJwt({ header, payload: { ...payload, act: { sub: victim.retailerId } }, secret: RETAILER_SECRET });

      const me = await as(forged).get('/auth/me');
      expectWorks(me);
      expect(me.body.data.retailer.id).toBe(owner.retailerId);
      expect(me.body.data.user.id).toBe(owner.userId);
      expect(me.body.data.impersonatedBy).toBeUndefined();
      const members = await as(forged).get('/team/members');
      expect((members.body.data as Array<{ email: string }>).map((m) => m.email)).toEqual([owner.email]);

      const audit = await as(owner.token).get('/audit-logs?event=impersonated_request');
      expect(audit.body.data.items).toEqual([]);
    });

    it('an admin token without act.sub is TOKEN_INVALID at retailer routes', async () => {
      expectError(await as(full.token).get('/auth/me'), 401, 'TOKEN_INVALID');
      expectError(await as(full.token).get('/team/members'), 401, 'TOKEN_INVALID');
      const { header, payload } = decodeJwt(full.token);
      const emptyAct = forgeJwt({ header, payload: { ...payload, act: {} }, secret: ADMIN_SECRET });
      expect((await as(emptyAct).get('/auth/me')).status).toBe(401);
    });

    it("an impersonation token re-signed for another retailer (same sid and jti) is refused (401 TOKEN_REVOKED)", async () => {
      const owner = await merchant();
      const victim = await merchant();
      const imp = await impersonate(a, full.token, owner.retailerId);
      const { header, payload } = decodeJwt(imp.token);
      const forged = forgeJwt({ header, payload: { ...payload, act: { sub: victim.retailerId } }, secret: ADMIN_SECRET });

      const res = await as(forged).get('/auth/me');
      expectError(res, 401, 'TOKEN_REVOKED');
      expectError(await as(forged).get('/team/members'), 401, 'TOKEN_REVOKED');
      expectWorks(await as(imp.token).get('/auth/me'));
      const audit = await as(victim.token).get('/audit-logs?event=impersonated_request');
      expect(audit.body.data.items).toEqual([]);
    });
  });
});
