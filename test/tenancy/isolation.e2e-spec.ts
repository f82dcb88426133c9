import request from 'supertest';
import { login, registerOwner } from '../factories/retailer.factory';
import { addMember } from '../factories/team.factory';
import { useMailingInstance } from '../support/with-mailbox';

/**
 * Tenant isolation across every route that names another object: retailer B, with an owner's
 * full permissions, tries each of retailer A's members, roles, keys and sessions, and sees or
 * changes nothing of them. Afterwards A's objects are intact.
 */
describe('tenant isolation', () => {
  const env = useMailingInstance();

  it('keeps every object of retailer A out of retailer B’s reach', async () => {
    const { instance, mailbox } = env();
    const http = instance.http;
    const a = await registerOwner(instance);
    const b = await registerOwner(instance);
    const sa = await login(instance, a.email);
    const sb = await login(instance, b.email);
    const asA = (r: request.Test) => r.set('Authorization', `Bearer ${sa.token}`);
    const asB = (r: request.Test) => r.set('Authorization', `Bearer ${sb.token}`);

    // Retailer A's objects.
    const member = await addMember(instance, mailbox, sa.token, { role: 'analyst' });
    const role = (await asA(request(http).post('/api/v1/roles')).send({ name: 'A-report-readers', permissions: { reports: ['read'] } }).expect(201)).body.data;
    const key = (await asA(request(http).post('/api/v1/api-keys')).send({ name: 'A key', type: 'reporting', scopes: ['reporting:read', 'audit_logs:read'] }).expect(201)).body.data;
    const aSessionId = JSON.parse(Buffer.from(sa.token.split('.')[1], 'base64url').toString('utf8')).sid as string;

    // Every route that names an object: B gets 404 (the object does not exist for B), never 200/403.
    const attempts: Array<[string, request.Test]> = [
      ['PATCH member', asB(request(http).patch(`/api/v1/team/members/${member.userId}`)).send({ role: 'viewer' })],
      ['DELETE member', asB(request(http).delete(`/api/v1/team/members/${member.userId}`))],
      ['PATCH role', asB(request(http).patch(`/api/v1/roles/${role.id}`)).send({ permissions: { billing: ['write'] } })],
      ['DELETE role', asB(request(http).delete(`/api/v1/roles/${role.id}`))],
      ['rotate key', asB(request(http).post(`/api/v1/api-keys/${key.id}/rotate`))],
      ['DELETE key', asB(request(http).delete(`/api/v1/api-keys/${key.id}`))],
      ['DELETE session', asB(request(http).delete(`/api/v1/auth/sessions/${aSessionId}`))],
    ];
    for (const [label, attempt] of attempts) {
      const res = await attempt;
      expect({ label, status: res.status, code: res.body.error?.code }).toEqual({ label, status: 404, code: 'NOT_FOUND' });
    }

    // Lists of B show nothing of A.
    for (const path of ['/api/v1/team/members', '/api/v1/roles', '/api/v1/api-keys', '/api/v1/auth/sessions', '/api/v1/audit-logs?limit=200']) {
      const res = await asB(request(http).get(path)).expect(200);
      const text = JSON.stringify(res.body);
      for (const id of [a.userId, a.retailerId, member.userId, role.id, key.id, aSessionId]) expect({ path, leaked: text.includes(id) }).toEqual({ path, leaked: false });
    }

    // B's key reads only B's audit log; A's key only A's.
    const keyB = (await asB(request(http).post('/api/v1/api-keys')).send({ name: 'B key', type: 'reporting', scopes: ['audit_logs:read'] }).expect(201)).body.data;
    const viaKeyB = await request(http).get('/api/v1/reporting/audit-logs?limit=200').set('X-API-Key', keyB.key).expect(200);
    expect(viaKeyB.body.data.items.every((r: { retailerId: string }) => r.retailerId === b.retailerId)).toBe(true);
    const meA = await request(http).get('/api/v1/reporting/me').set('X-API-Key', key.key).expect(200);
    expect(meA.body.data.retailerId).toBe(a.retailerId);

    // A's objects are intact.
    const members = (await asA(request(http).get('/api/v1/team/members')).expect(200)).body.data;
    expect(members.find((m: { id: string }) => m.id === member.userId)).toMatchObject({ role: 'analyst' });
    const roles = (await asA(request(http).get('/api/v1/roles')).expect(200)).body.data;
    expect(roles.find((r: { id: string }) => r.id === role.id)).toMatchObject({ permissions: { reports: ['read'] } });
    await request(http).get('/api/v1/reporting/me').set('X-API-Key', key.key).expect(200);
    await asA(request(http).get('/api/v1/auth/me')).expect(200);
  });
});
