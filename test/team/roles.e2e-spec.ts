import request from 'supertest';
import { sleep } from '../factories/mail.factory';
import { login, registerOwner } from '../factories/retailer.factory';
import { addMember } from '../factories/team.factory';
import type { TestMailbox } from '../support/mailbox';
import { hasRedis, startInstance, TestInstance } from '../support/test-app';
import { useMailingInstance } from '../support/with-mailbox';

function claimsOf(token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

function client(instance: TestInstance, token: string) {
  const api = () => request(instance.http);
  return {
    get: (path: string) => api().get(`/api/v1${path}`).set('Authorization', `Bearer ${token}`),
    post: (path: string, body: object) => api().post(`/api/v1${path}`).set('Authorization', `Bearer ${token}`).send(body),
    patch: (path: string, body: object) => api().patch(`/api/v1${path}`).set('Authorization', `Bearer ${token}`).send(body),
    delete: (path: string) => api().delete(`/api/v1${path}`).set('Authorization', `Bearer ${token}`),
  };
}

/** Polls `check` until it returns true or `ms` pass; returns how long it took, or null. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number | null> {
  const start = Date.now();
  while (Date.now() - start <= ms) {
    if (await check()) return Date.now() - start;
    await sleep(50);
  }
  return null;
}

describe('custom roles and role changes', () => {
  const env = useMailingInstance();
  let instance: TestInstance;
  let mailbox: TestMailbox;
  beforeAll(() => ({ instance, mailbox } = env()));

  async function ownerSession() {
    const owner = await registerOwner(instance);
    const { token } = await login(instance, owner.email);
    return { ...owner, token };
  }

  it('creates, lists, updates and deletes custom roles; names are unique and never predefined', async () => {
    const owner = await ownerSession();
    const as = client(instance, owner.token);
    const created = await as.post('/roles', { name: 'Merchandiser', permissions: { reports: ['write', 'read', 'read'], analytics: ['read'] } }).expect(201);
    expect(created.body.data).toMatchObject({ name: 'Merchandiser', permissions: { analytics: ['read'], reports: ['read', 'write'] } });

    expect((await as.post('/roles', { name: 'merchandiser', permissions: {} }).expect(409)).body.error.code).toBe('CONFLICT');
    for (const name of ['owner', 'Admin', 'viewer']) {
      expect((await as.post('/roles', { name, permissions: {} }).expect(400)).body.error.code).toBe('VALIDATION_FAILED');
    }
    const bad = await as.post('/roles', { name: 'Odd', permissions: { rockets: ['read'], reports: ['launch'] } }).expect(400);
    expect(bad.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['permissions.reports', 'permissions.rockets']);
    // Managing team, keys and settings stays with owners and admins.
    await as.post('/roles', { name: 'Sneaky', permissions: { team: ['write'] } }).expect(400);

    const list = await as.get('/roles').expect(200);
    expect(list.body.data.map((r: { name: string }) => r.name)).toEqual(['Merchandiser']);

    const renamed = await as.patch(`/roles/${created.body.data.id}`, { name: 'Buyer', permissions: { dashboards: ['read'] } }).expect(200);
    expect(renamed.body.data).toMatchObject({ name: 'Buyer', permissions: { dashboards: ['read'] } });
    await as.patch(`/roles/${created.body.data.id}`, { name: 'analyst' }).expect(400);
    await as.delete(`/roles/${created.body.data.id}`).expect(200);
    await as.delete(`/roles/${created.body.data.id}`).expect(404);

    const log = await as.get('/audit-logs?limit=50').expect(200);
    expect(log.body.data.items.map((e: { event: string }) => e.event)).toEqual(expect.arrayContaining(['role_created', 'role_updated', 'role_deleted']));
  });

  it("an admin cannot create a role with permissions it lacks (billing); viewers cannot manage roles", async () => {
    const owner = await ownerSession();
    const admin = await addMember(instance, mailbox, owner.token, { role: 'admin' });
    const viewer = await addMember(instance, mailbox, owner.token, { role: 'viewer' });
    await client(instance, admin.token).post('/roles', { name: 'Billing', permissions: { billing: ['read'] } }).expect(400);
    await client(instance, owner.token).post('/roles', { name: 'Billing', permissions: { billing: ['read'] } }).expect(201);
    await client(instance, viewer.token).get('/roles').expect(403);
    await client(instance, viewer.token).post('/roles', { name: 'X', permissions: {} }).expect(403);
  });

  it("a custom role's permissions are in the access token and /auth/me; a role in use cannot be deleted", async () => {
    const owner = await ownerSession();
    const role = await client(instance, owner.token).post('/roles', { name: 'team reader', permissions: { team: ['read'], analytics: ['read'] } }).expect(201);
    const member = await addMember(instance, mailbox, owner.token, { role: 'team reader' });
    expect(claimsOf(member.token)).toMatchObject({ role: 'team reader', perms: ['analytics:read', 'team:read'] });
    const me = await client(instance, member.token).get('/auth/me').expect(200);
    expect(me.body.data).toMatchObject({ role: 'team reader', permissions: ['analytics:read', 'team:read'] });
    await client(instance, member.token).get('/team/members').expect(200);
    await client(instance, member.token).post('/team/invite', { email: 'x@shop.example', role: 'viewer' }).expect(403);

    const inUse = await client(instance, owner.token).delete(`/roles/${role.body.data.id}`).expect(409);
    expect(inUse.body.error.code).toBe('CONFLICT');

    // Changing the role's permissions applies to its members' next request.
    await client(instance, owner.token).patch(`/roles/${role.body.data.id}`, { permissions: { analytics: ['read'] } }).expect(200);
    await client(instance, member.token).get('/team/members').expect(403);
    // A rename carries the member along.
    await client(instance, owner.token).patch(`/roles/${role.body.data.id}`, { name: 'analytics reader' }).expect(200);
    expect((await client(instance, member.token).get('/auth/me').expect(200)).body.data).toMatchObject({ role: 'analytics reader', permissions: ['analytics:read'] });
  });

  it('keeps retailers apart: roles of one are neither visible to nor changeable or assignable by another', async () => {
    const shopA = await ownerSession();
    const shopB = await ownerSession();
    const role = await client(instance, shopA.token).post('/roles', { name: 'secret role', permissions: { dashboards: ['read'] } }).expect(201);
    expect((await client(instance, shopB.token).get('/roles').expect(200)).body.data).toEqual([]);
    await client(instance, shopB.token).patch(`/roles/${role.body.data.id}`, { name: 'stolen' }).expect(404);
    await client(instance, shopB.token).delete(`/roles/${role.body.data.id}`).expect(404);
    await client(instance, shopB.token).post('/team/invite', { email: 'y@shop.example', role: 'secret role' }).expect(400);
    // Shop B may have a role of the same name.
    await client(instance, shopB.token).post('/roles', { name: 'secret role', permissions: {} }).expect(201);
    expect((await client(instance, shopA.token).get('/roles').expect(200)).body.data).toHaveLength(1);
  });

  describe('across instances', () => {
    let other: TestInstance;
    beforeAll(async () => {
      if (hasRedis()) other = await startInstance();
    });
    afterAll(() => other?.close());
    const itWithRedis = hasRedis() ? it : it.skip;

    itWithRedis("a role change on instance A applies to the member's next request on instance B within 1 s, without refreshing", async () => {
      const owner = await ownerSession();
      const member = await addMember(instance, mailbox, owner.token, { role: 'analyst' });
      const onB = client(other, member.token);
      await onB.get('/team/members').expect(403);

      await client(instance, owner.token).patch(`/team/members/${member.userId}`, { role: 'admin' }).expect(200);
      const promoted = await within(1000, async () => (await onB.get('/team/members')).status === 200);
      expect(promoted).not.toBeNull();
      const me = await onB.get('/auth/me').expect(200);
      expect(me.body.data.role).toBe('admin');
      expect(me.body.data.permissions).toContain('team:write');

      // And back down: the same old token loses the permission.
      await client(instance, owner.token).patch(`/team/members/${member.userId}`, { role: 'viewer' }).expect(200);
      const demoted = await within(1000, async () => (await onB.get('/team/members')).status === 403);
      expect(demoted).not.toBeNull();
      expect((await onB.get('/auth/me').expect(200)).body.data).toMatchObject({ role: 'viewer', permissions: ['dashboards:read'] });
    });

    itWithRedis('a removal on instance A revokes the member on instance B within 1 s', async () => {
      const owner = await ownerSession();
      const member = await addMember(instance, mailbox, owner.token, { role: 'admin' });
      const onB = client(other, member.token);
      await onB.get('/team/members').expect(200);
      await client(instance, owner.token).delete(`/team/members/${member.userId}`).expect(200);
      expect(await within(1000, async () => (await onB.get('/team/members')).body.error?.code === 'TOKEN_REVOKED')).not.toBeNull();
    });

    itWithRedis('an instance started after the change still applies it (reloaded from Postgres)', async () => {
      const owner = await ownerSession();
      const member = await addMember(instance, mailbox, owner.token, { role: 'viewer' });
      const removed = await addMember(instance, mailbox, owner.token, { role: 'admin' });
      await client(instance, owner.token).patch(`/team/members/${member.userId}`, { role: 'admin' }).expect(200);
      await client(instance, owner.token).delete(`/team/members/${removed.userId}`).expect(200);
      const late = await startInstance();
      try {
        await client(late, member.token).get('/team/members').expect(200);
        expect((await client(late, removed.token).get('/team/members').expect(401)).body.error.code).toBe('TOKEN_REVOKED');
      } finally {
        await late.close();
      }
    });
  });
});
