import { getDataSourceToken } from '@nestjs/typeorm';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { PUBLIC_BASE_URL } from '../factories/mail.factory';
import { login, registerOwner, STRONG_PASSWORD, uniqueEmail } from '../factories/retailer.factory';
import { addMember, inviteToken } from '../factories/team.factory';
import type { TestMailbox } from '../support/mailbox';
import type { TestInstance } from '../support/test-app';
import { useMailingInstance } from '../support/with-mailbox';

const DAY_MS = 86_400_000;

function claimsOf(token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

describe('team', () => {
  const env = useMailingInstance();
  let instance: TestInstance;
  let mailbox: TestMailbox;
  beforeAll(() => ({ instance, mailbox } = env()));

  const api = () => request(instance.http);
  const as = (token: string) => ({
    get: (path: string) => api().get(`/api/v1${path}`).set('Authorization', `Bearer ${token}`),
    post: (path: string, body: object) => api().post(`/api/v1${path}`).set('Authorization', `Bearer ${token}`).send(body),
    patch: (path: string, body: object) => api().patch(`/api/v1${path}`).set('Authorization', `Bearer ${token}`).send(body),
    delete: (path: string) => api().delete(`/api/v1${path}`).set('Authorization', `Bearer ${token}`),
  });
  const db = () => instance.app.get<DataSource>(getDataSourceToken());

  async function ownerSession() {
    const owner = await registerOwner(instance);
    const { token } = await login(instance, owner.email);
    return { ...owner, token };
  }

  async function events(token: string): Promise<Array<{ event: string; metadata: Record<string, unknown> }>> {
    const res = await as(token).get('/audit-logs?limit=100').expect(200);
    return res.body.data.items;
  }

  it('invites by email with a single-use link valid 7 days, stored only as a hash', async () => {
    const owner = await ownerSession();
    const email = uniqueEmail('invitee');
    const seen = mailbox.messages.length;
    const res = await as(owner.token).post('/team/invite', { email: `  ${email.toUpperCase()} `, role: 'analyst', dashboards: ['sales'] }).expect(201);
    expect(res.body.data).toMatchObject({ email, role: 'analyst', dashboards: ['sales'] });
    expect(new Date(res.body.data.expiresAt).getTime() - Date.now()).toBeGreaterThan(7 * DAY_MS - 60_000);

    const mail = await mailbox.waitFor(email, { subject: /invited/i, after: seen });
    const link = new URL(mail.links[0]);
    expect(`${link.origin}${link.pathname}`).toBe(`${PUBLIC_BASE_URL}/accept-invite`);
    const token = link.searchParams.get('token')!;
    const rows: Array<Record<string, unknown>> = await db().query(`SELECT * FROM one_time_tokens WHERE purpose = 'invite' AND email = $1`, [email]);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(new Date(rows[0].expires_at as string).getTime() - Date.now()).toBeGreaterThan(7 * DAY_MS - 60_000);
    expect(new Date(rows[0].expires_at as string).getTime() - Date.now()).toBeLessThanOrEqual(7 * DAY_MS);
  });

  it('accepting signs the member in with the invited role; the team list shows them; all is audit-logged', async () => {
    const owner = await ownerSession();
    const { email, token } = await inviteToken(instance, mailbox, owner.token, { role: 'analyst', dashboards: ['sales', 'stock'] });

    // A password against the policy is refused and does not burn the link.
    const weak = await api().post('/api/v1/team/invite/accept').send({ token, name: 'Ana Lyst', password: 'short' }).expect(400);
    expect(weak.body.error.code).toBe('VALIDATION_FAILED');
    expect(weak.body.error.details[0].field).toBe('password');

    const accepted = await api().post('/api/v1/team/invite/accept').send({ token, name: 'Ana Lyst', password: STRONG_PASSWORD }).expect(200);
    expect(accepted.headers['referrer-policy']).toBe('no-referrer');
    expect(accepted.body.data).toMatchObject({ user: { email, name: 'Ana Lyst', role: 'analyst', retailerId: owner.retailerId } });
    expect(accepted.body.data.refreshToken).toEqual(expect.any(String));
    expect([accepted.headers['set-cookie']].flat().join(';')).toContain('retailer_access_token=');
    const claims = claimsOf(accepted.body.data.token);
    expect(claims).toMatchObject({ sub: owner.retailerId, role: 'analyst' });
    expect(claims.perms).toEqual(['analytics:read', 'analytics:export', 'dashboards:read', 'reports:read', 'reports:write', 'reports:export']);

    const me = await as(accepted.body.data.token).get('/auth/me').expect(200);
    expect(me.body.data).toMatchObject({ role: 'analyst', permissions: claims.perms });
    // The member can sign in with the chosen password.
    await login(instance, email);

    const list = await as(owner.token).get('/team/members').expect(200);
    const member = list.body.data.find((m: { email: string }) => m.email === email);
    expect(member).toEqual({ id: accepted.body.data.user.id, email, name: 'Ana Lyst', role: 'analyst', dashboards: ['sales', 'stock'], mfaEnabled: false, lastLoginAt: expect.any(String) });
    expect(list.body.data.find((m: { id: string }) => m.id === owner.userId)).toMatchObject({ role: 'owner' });

    const names = (await events(owner.token)).map((e) => e.event);
    expect(names).toEqual(expect.arrayContaining(['member_invited', 'invite_accepted']));
  });

  it('refuses an invitation link used twice, after 7 days, or unknown (401 TOKEN_INVALID)', async () => {
    const owner = await ownerSession();
    const first = await inviteToken(instance, mailbox, owner.token, { role: 'viewer' });
    await api().post('/api/v1/team/invite/accept').send({ token: first.token, name: 'Once', password: STRONG_PASSWORD }).expect(200);
    const twice = await api().post('/api/v1/team/invite/accept').send({ token: first.token, name: 'Twice', password: STRONG_PASSWORD }).expect(401);
    expect(twice.body.error.code).toBe('TOKEN_INVALID');

    const late = await inviteToken(instance, mailbox, owner.token, { role: 'viewer' });
    // Seven days pass.
    await db().query(`UPDATE one_time_tokens SET expires_at = now() - interval '1 second' WHERE purpose = 'invite' AND email = $1`, [late.email]);
    const expired = await api().post('/api/v1/team/invite/accept').send({ token: late.token, name: 'Late', password: STRONG_PASSWORD }).expect(401);
    expect(expired.body.error.code).toBe('TOKEN_INVALID');
    expect(await db().query(`SELECT id FROM users WHERE email = $1`, [late.email])).toEqual([]);

    const forged = await api().post('/api/v1/team/invite/accept').send({ token: 'x'.repeat(43), name: 'Forged', password: STRONG_PASSWORD }).expect(401);
    expect(forged.body.error.code).toBe('TOKEN_INVALID');
  });

  it('refuses to invite an email that already has an account (409), and an unknown role (400)', async () => {
    const owner = await ownerSession();
    const other = await registerOwner(instance);
    const taken = await as(owner.token).post('/team/invite', { email: other.email.toUpperCase(), role: 'viewer' }).expect(409);
    expect(taken.body.error.code).toBe('CONFLICT');
    const unknown = await as(owner.token).post('/team/invite', { email: uniqueEmail(), role: 'superuser' }).expect(400);
    expect(unknown.body.error.code).toBe('VALIDATION_FAILED');
    const extra = await as(owner.token).post('/team/invite', { email: uniqueEmail(), role: 'viewer', isOwner: true }).expect(400);
    expect(extra.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('a viewer or analyst cannot invite, list or change the team (403)', async () => {
    const owner = await ownerSession();
    const viewer = await addMember(instance, mailbox, owner.token, { role: 'viewer' });
    const analyst = await addMember(instance, mailbox, owner.token, { role: 'analyst' });
    for (const member of [viewer, analyst]) {
      const invite = await as(member.token).post('/team/invite', { email: uniqueEmail(), role: 'viewer' }).expect(403);
      expect(invite.body.error.code).toBe('FORBIDDEN');
      await as(member.token).get('/team/members').expect(403);
      await as(member.token).patch(`/team/members/${owner.userId}`, { role: 'viewer' }).expect(403);
      await as(member.token).delete(`/team/members/${owner.userId}`).expect(403);
    }
    const list = await as(owner.token).get('/team/members').expect(200);
    expect(list.body.data.find((m: { id: string }) => m.id === owner.userId).role).toBe('owner');
    expect(list.body.data).toHaveLength(3);
  });

  it('an admin manages the team but cannot grant owner, nor demote or remove an owner', async () => {
    const owner = await ownerSession();
    const admin = await addMember(instance, mailbox, owner.token, { role: 'admin' });
    const viewer = await addMember(instance, mailbox, owner.token, { role: 'viewer' });

    const grantInvite = await as(admin.token).post('/team/invite', { email: uniqueEmail(), role: 'owner' }).expect(403);
    expect(grantInvite.body.error.code).toBe('FORBIDDEN');
    const grantPatch = await as(admin.token).patch(`/team/members/${viewer.userId}`, { role: 'owner' }).expect(403);
    expect(grantPatch.body.error.code).toBe('FORBIDDEN');
    await as(admin.token).patch(`/team/members/${admin.userId}`, { role: 'owner' }).expect(403);
    await as(admin.token).patch(`/team/members/${owner.userId}`, { role: 'viewer' }).expect(403);
    await as(admin.token).delete(`/team/members/${owner.userId}`).expect(403);

    // What an admin may do.
    const changed = await as(admin.token).patch(`/team/members/${viewer.userId}`, { role: 'analyst', dashboards: ['a', 'b'] }).expect(200);
    expect(changed.body.data).toMatchObject({ id: viewer.userId, role: 'analyst', dashboards: ['a', 'b'] });
    await as(admin.token).post('/team/invite', { email: uniqueEmail(), role: 'admin' }).expect(201);

    // An owner may grant owner.
    await as(owner.token).patch(`/team/members/${admin.userId}`, { role: 'owner' }).expect(200);
    const log = await events(owner.token);
    expect(log.filter((e) => e.event === 'member_role_changed').map((e) => (e.metadata.after as { role: string }).role)).toEqual(expect.arrayContaining(['analyst', 'owner']));
  });

  it('the last owner can be neither removed nor demoted (409); with a second owner it can', async () => {
    const owner = await ownerSession();
    const demote = await as(owner.token).patch(`/team/members/${owner.userId}`, { role: 'admin' }).expect(409);
    expect(demote.body.error.code).toBe('CONFLICT');
    const remove = await as(owner.token).delete(`/team/members/${owner.userId}`).expect(409);
    expect(remove.body.error.code).toBe('CONFLICT');
    await as(owner.token).get('/team/members').expect(200);

    const second = await addMember(instance, mailbox, owner.token, { role: 'owner' });
    await as(second.token).patch(`/team/members/${owner.userId}`, { role: 'admin' }).expect(200);
    // Now `second` is the last owner.
    await as(second.token).patch(`/team/members/${second.userId}`, { role: 'viewer' }).expect(409);
    await as(second.token).delete(`/team/members/${second.userId}`).expect(409);
  });

  it('two owners demoting each other at once leave one owner', async () => {
    const owner = await ownerSession();
    const second = await addMember(instance, mailbox, owner.token, { role: 'owner' });
    const [a, b] = await Promise.all([
      as(owner.token).patch(`/team/members/${second.userId}`, { role: 'admin' }),
      as(second.token).patch(`/team/members/${owner.userId}`, { role: 'admin' }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const owners: unknown[] = await db().query(`SELECT id FROM users WHERE retailer_id = $1 AND role = 'owner'`, [owner.retailerId]);
    expect(owners).toHaveLength(1);
  });

  it('removing a member revokes their sessions at once and deletes them; audit-logged', async () => {
    const owner = await ownerSession();
    const member = await addMember(instance, mailbox, owner.token, { role: 'admin' });
    const second = await login(instance, member.email);
    await as(member.token).get('/team/members').expect(200);

    await as(owner.token).delete(`/team/members/${member.userId}`).expect(200);
    for (const token of [member.token, second.token]) {
      const res = await as(token).get('/team/members').expect(401);
      expect(res.body.error.code).toBe('TOKEN_REVOKED');
      expect((await as(token).get('/auth/me')).body.error.code).toBe('TOKEN_REVOKED');
    }
    expect((await api().post('/api/v1/auth/refresh').send({ refreshToken: member.refreshToken })).status).toBe(401);
    await api().post('/api/v1/auth/login').send({ email: member.email, password: STRONG_PASSWORD }).expect(401);

    const list = await as(owner.token).get('/team/members').expect(200);
    expect(list.body.data.map((m: { id: string }) => m.id)).not.toContain(member.userId);
    await as(owner.token).delete(`/team/members/${member.userId}`).expect(404);
    const removed = (await events(owner.token)).find((e) => e.event === 'member_removed');
    expect(removed?.metadata).toMatchObject({ memberId: member.userId, email: member.email, sessionsRevoked: 2 });
    // The email is free again: it can be invited anew.
    await as(owner.token).post('/team/invite', { email: member.email, role: 'viewer' }).expect(201);
  });

  it('keeps retailers apart: no member of one is visible to or changeable by another', async () => {
    const shopA = await ownerSession();
    const memberA = await addMember(instance, mailbox, shopA.token, { role: 'viewer' });
    const shopB = await ownerSession();

    const listB = await as(shopB.token).get('/team/members').expect(200);
    expect(listB.body.data.map((m: { id: string }) => m.id)).toEqual([shopB.userId]);
    for (const id of [memberA.userId, shopA.userId]) {
      expect((await as(shopB.token).patch(`/team/members/${id}`, { role: 'admin' }).expect(404)).body.error.code).toBe('NOT_FOUND');
      expect((await as(shopB.token).delete(`/team/members/${id}`).expect(404)).body.error.code).toBe('NOT_FOUND');
    }
    const listA = await as(shopA.token).get('/team/members').expect(200);
    expect(listA.body.data.find((m: { id: string }) => m.id === memberA.userId).role).toBe('viewer');
    await as(memberA.token).get('/auth/me').expect(200);
  });

  it('validates ids and bodies', async () => {
    const owner = await ownerSession();
    await as(owner.token).patch('/team/members/not-a-uuid', { role: 'viewer' }).expect(400);
    await as(owner.token).patch(`/team/members/${owner.userId}`, {}).expect(400);
    await as(owner.token).patch(`/team/members/${owner.userId}`, { role: 'owner', admin: true }).expect(400);
    await as(owner.token).delete('/team/members/00000000-0000-4000-8000-000000000000').expect(404);
  });
});
