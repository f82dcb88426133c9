import request from 'supertest';
import { impersonate, signedInAdmin } from '../factories/admin.factory';
import { login, registerOwner, STRONG_PASSWORD, uniqueEmail } from '../factories/retailer.factory';
import { addMember, inviteToken } from '../factories/team.factory';
import { expectError } from '../support/expectations';
import type { TestMailbox } from '../support/mailbox';
import type { TestInstance } from '../support/test-app';
import { useMailingInstance } from '../support/with-mailbox';

/**
 * Pending invitations: a team manager sees who was invited and not yet joined, and can withdraw
 * an invitation, after which its link no longer works (an addition to the contract's team routes).
 */
describe('pending invitations', () => {
  const env = useMailingInstance();
  let instance: TestInstance;
  let mailbox: TestMailbox;
  beforeAll(() => ({ instance, mailbox } = env()));

  const as = (token: string) => ({
    get: (path: string) => request(instance.http).get(`/api/v1${path}`).set('Authorization', `Bearer ${token}`),
    delete: (path: string) => request(instance.http).delete(`/api/v1${path}`).set('Authorization', `Bearer ${token}`),
  });
  const accept = (token: string) => request(instance.http).post('/api/v1/team/invite/accept').send({ token, name: 'New Member', password: STRONG_PASSWORD });

  async function ownerSession() {
    const owner = await registerOwner(instance);
    return { ...owner, token: (await login(instance, owner.email)).token };
  }

  it('lists invitations not yet accepted, newest first, without their links; an accepted one leaves the list', async () => {
    const owner = await ownerSession();
    const first = await inviteToken(instance, mailbox, owner.token, { role: 'analyst', dashboards: ['sales'] });
    const second = await inviteToken(instance, mailbox, owner.token, { role: 'viewer' });

    const listed = await as(owner.token).get('/team/invites').expect(200);
    expect(listed.body.data).toEqual([
      { id: expect.any(String), email: second.email, role: 'viewer', dashboards: [], invitedBy: owner.userId, createdAt: expect.any(String), expiresAt: expect.any(String) },
      { id: expect.any(String), email: first.email, role: 'analyst', dashboards: ['sales'], invitedBy: owner.userId, createdAt: expect.any(String), expiresAt: expect.any(String) },
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(first.token);

    await accept(first.token).expect(200);
    const after = await as(owner.token).get('/team/invites').expect(200);
    expect(after.body.data.map((i: { email: string }) => i.email)).toEqual([second.email]);
  });

  it('cancels an invitation: the link is refused from then on, a second cancel is 404, and the audit log says who did it', async () => {
    const owner = await ownerSession();
    const { email, token } = await inviteToken(instance, mailbox, owner.token, { role: 'analyst' });
    const [invite] = (await as(owner.token).get('/team/invites').expect(200)).body.data;

    expect((await as(owner.token).delete(`/team/invites/${invite.id}`).expect(200)).body.data).toEqual({ cancelled: true });
    expectError(await accept(token), 401, 'TOKEN_INVALID');
    expect((await as(owner.token).get('/team/invites').expect(200)).body.data).toEqual([]);
    expectError(await as(owner.token).delete(`/team/invites/${invite.id}`), 404, 'NOT_FOUND');

    const audit = await as(owner.token).get('/audit-logs?event=invite_cancelled').expect(200);
    expect(audit.body.data.items).toEqual([
      expect.objectContaining({ event: 'invite_cancelled', actorId: owner.userId, retailerId: owner.retailerId, metadata: { inviteId: invite.id, email, role: 'analyst' } }),
    ]);
  });

  it('refuses an accepted invitation, a malformed id and an unknown one', async () => {
    const owner = await ownerSession();
    const { token } = await inviteToken(instance, mailbox, owner.token, { role: 'viewer' });
    const [invite] = (await as(owner.token).get('/team/invites').expect(200)).body.data;
    await accept(token).expect(200);
    expectError(await as(owner.token).delete(`/team/invites/${invite.id}`), 404, 'NOT_FOUND');
    expectError(await as(owner.token).delete('/team/invites/not-a-uuid'), 400, 'VALIDATION_FAILED');
    expectError(await as(owner.token).delete('/team/invites/00000000-0000-4000-8000-000000000000'), 404, 'NOT_FOUND');
  });

  it("keeps invitations per retailer: another retailer's owner neither sees nor cancels them", async () => {
    const owner = await ownerSession();
    const other = await ownerSession();
    const { token } = await inviteToken(instance, mailbox, owner.token, { role: 'viewer' });
    const [invite] = (await as(owner.token).get('/team/invites').expect(200)).body.data;

    expect((await as(other.token).get('/team/invites').expect(200)).body.data).toEqual([]);
    expectError(await as(other.token).delete(`/team/invites/${invite.id}`), 404, 'NOT_FOUND');
    await accept(token).expect(200); // still valid
  });

  it('needs team:read to list and team:write to cancel; a read-only impersonation may list but not cancel', async () => {
    const owner = await ownerSession();
    await inviteToken(instance, mailbox, owner.token, { role: 'viewer', email: uniqueEmail('pending') });
    const [invite] = (await as(owner.token).get('/team/invites').expect(200)).body.data;
    const viewer = await addMember(instance, mailbox, owner.token, { role: 'viewer' });
    const analyst = await addMember(instance, mailbox, owner.token, { role: 'analyst' });

    expectError(await as(viewer.token).get('/team/invites'), 403, 'FORBIDDEN');
    expectError(await as(analyst.token).delete(`/team/invites/${invite.id}`), 403, 'FORBIDDEN');
    expectError(await request(instance.http).get('/api/v1/team/invites'), 401, 'TOKEN_MISSING');

    const admin = await signedInAdmin(instance, mailbox, { fullAccess: false });
    const impersonation = await impersonate(instance, admin.token, owner.retailerId);
    const asAdmin = as(impersonation.token);
    expect((await asAdmin.get('/team/invites').expect(200)).body.data.map((i: { id: string }) => i.id)).toContain(invite.id);
    expectError(await asAdmin.delete(`/team/invites/${invite.id}`), 403, 'FORBIDDEN');
    expect((await as(owner.token).get('/team/invites').expect(200)).body.data.map((i: { id: string }) => i.id)).toContain(invite.id);
  });
});
