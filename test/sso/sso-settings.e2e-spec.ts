import { getDataSourceToken } from '@nestjs/typeorm';
import { hash } from 'bcrypt';
import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { ADMIN_SUITE_ENV, impersonate, signedInAdmin } from '../factories/admin.factory';
import { login, registerOwner, RegisteredOwner, STRONG_PASSWORD, uniqueEmail } from '../factories/retailer.factory';
import { claimVerifiedDomain } from '../factories/sso.factory';
import { useDnsStandIn } from '../support/dns-stand-in';
import { expectError } from '../support/expectations';
import { useMailingInstance } from '../support/with-mailbox';

/**
 * The retailer's SSO settings (GET/PUT /settings/security/sso): trusting the provider's MFA and
 * the just-in-time domains. Owners and admins only, never an impersonating admin; webmail,
 * malformed domains and domains another retailer verified, `owner` and unknown roles are refused.
 * (Proving a domain: sso-domain-verification.e2e-spec.ts.)
 */

const ROUTE = '/api/v1/settings/security/sso';
const env: Record<string, string> = { ...ADMIN_SUITE_ENV };
const dns = useDnsStandIn(env);
const mailing = useMailingInstance({ env });

let db: DataSource;
let owner: RegisteredOwner & { token: string };

const uniqueDomain = (label = 'acme') => `${label}-${Math.random().toString(36).slice(2, 8)}.example`;

/** A domain as GET and PUT show it before it is verified: the record to publish, with a fresh token. */
const pending = (domain: string, role: string) => ({
  domain,
  role,
  status: 'pending',
  verifiedAt: null,
  verification: { type: 'TXT', name: `_retail-auth.${domain}`, value: expect.stringMatching(/^retail-auth-domain-verification=[A-Za-z0-9_-]{32}$/) },
});

function getSso(token: string): Promise<Response> {
  return request(mailing().instance.http).get(ROUTE).set('Authorization', `Bearer ${token}`);
}

function putSso(token: string, body: unknown): Promise<Response> {
  return request(mailing().instance.http).put(ROUTE).set('Authorization', `Bearer ${token}`).send(body as object);
}

/** A member of the owner's retailer with `role`, signed in with a password. */
async function memberWithRole(role: string): Promise<string> {
  const email = uniqueEmail(role);
  await db.query(`INSERT INTO users (retailer_id, email, name, password_hash, role) VALUES ($1, $2, 'Member', $3, $4)`, [owner.retailerId, email, await hash(STRONG_PASSWORD, 4), role]);
  return (await login(mailing().instance, email)).token;
}

beforeAll(async () => {
  db = mailing().instance.app.get<DataSource>(getDataSourceToken());
  const registered = await registerOwner(mailing().instance);
  owner = { ...registered, token: (await login(mailing().instance, registered.email)).token };
});

describe('SSO settings', () => {
  it('starts off: no trusted provider MFA, no domains', async () => {
    const res = await getSso(owner.token);
    expect({ status: res.status, data: res.body.data }).toEqual({ status: 200, data: { trustProviderMfa: false, jitDomains: [] } });
  });

  it('stores both settings (domains lowercased, sorted, pending) and audits the change with the previous values', async () => {
    const [one, two] = [uniqueDomain('zeta'), uniqueDomain('alpha')];
    const res = await putSso(owner.token, { trustProviderMfa: true, jitDomains: [{ domain: ` ${one.toUpperCase()}. `, role: 'viewer' }, { domain: two, role: 'analyst' }] });
    const expected = { trustProviderMfa: true, jitDomains: [pending(two, 'analyst'), pending(one, 'viewer')] };
    expect({ status: res.status, data: res.body.data }).toEqual({ status: 200, data: expected });
    expect((await getSso(owner.token)).body.data).toEqual(res.body.data);
    expect(await db.query(`SELECT sso_trust_provider_mfa FROM retailers WHERE id = $1`, [owner.retailerId])).toEqual([{ sso_trust_provider_mfa: true }]);
    // Each domain its own token.
    const [tokenTwo, tokenOne] = res.body.data.jitDomains.map((d: any) => d.verification.value);
    expect(tokenOne).not.toBe(tokenTwo);

    const [row] = await db.query(`SELECT * FROM audit_logs WHERE request_id = $1 AND event = 'sso_settings_updated'`, [res.headers['x-request-id']]);
    expect(row).toMatchObject({ actor_id: owner.userId, retailer_id: owner.retailerId, status: 'success' });
    expect(row.metadata).toEqual({
      trustProviderMfa: true,
      jitDomains: [{ domain: two, role: 'analyst', status: 'pending' }, { domain: one, role: 'viewer', status: 'pending' }],
      previous: { trustProviderMfa: false, jitDomains: [] },
    });

    // Replacing the list drops what is not in it; a kept domain keeps its record, whatever its new role.
    const replaced = await putSso(owner.token, { trustProviderMfa: false, jitDomains: [{ domain: two, role: 'viewer' }] });
    expect(replaced.body.data).toEqual({ trustProviderMfa: false, jitDomains: [pending(two, 'viewer')] });
    expect(replaced.body.data.jitDomains[0].verification.value).toBe(tokenTwo);
    expect(await db.query(`SELECT domain FROM sso_domains WHERE domain = $1`, [one])).toEqual([]);
  });

  it("accepts a custom role of the retailer", async () => {
    const role = await request(mailing().instance.http)
      .post('/api/v1/roles')
      .set('Authorization', `Bearer ${owner.token}`)
      .send({ name: 'store-staff', permissions: { dashboards: ['read'], reports: ['read'] } });
    expect(role.status).toBe(201);
    const domain = uniqueDomain('staff');
    const res = await putSso(owner.token, { trustProviderMfa: false, jitDomains: [{ domain, role: 'store-staff' }] });
    expect({ status: res.status, data: res.body.data }).toEqual({ status: 200, data: { trustProviderMfa: false, jitDomains: [pending(domain, 'store-staff')] } });
  });

  it.each([
    ['a public webmail domain', { domain: 'gmail.com', role: 'viewer' }, 'jitDomains[0].domain', /public email provider/],
    ['a webmail domain in another case', { domain: 'Outlook.COM', role: 'viewer' }, 'jitDomains[0].domain', /public email provider/],
    ['a webmail country domain', { domain: 'yahoo.co.uk', role: 'viewer' }, 'jitDomains[0].domain', /public email provider/],
    ['iCloud', { domain: 'icloud.com', role: 'viewer' }, 'jitDomains[0].domain', /public email provider/],
    ['Hotmail', { domain: 'hotmail.com', role: 'viewer' }, 'jitDomains[0].domain', /public email provider/],
    ['an email address', { domain: 'boss@acme.example', role: 'viewer' }, 'jitDomains[0].domain', /not a domain/],
    ['a URL', { domain: 'https://acme.example', role: 'viewer' }, 'jitDomains[0].domain', /not a domain/],
    ['a single label', { domain: 'localhost', role: 'viewer' }, 'jitDomains[0].domain', /not a domain/],
    ['a label starting with a dash', { domain: '-acme.example', role: 'viewer' }, 'jitDomains[0].domain', /not a domain/],
    ['spaces inside', { domain: 'ac me.example', role: 'viewer' }, 'jitDomains[0].domain', /not a domain/],
    ['the owner role', { domain: 'owners-club.example', role: 'owner' }, 'jitDomains[0].role', /owner cannot/],
    ['an unknown role', { domain: 'unknown-role.example', role: 'superuser' }, 'jitDomains[0].role', /not a predefined role/],
  ])('refuses %s (400 VALIDATION_FAILED naming the field), changing nothing', async (_label, entry, field, message) => {
    const before = (await getSso(owner.token)).body.data;
    const res = await putSso(owner.token, { trustProviderMfa: true, jitDomains: [entry] });
    expectError(res, 400, 'VALIDATION_FAILED');
    expect(res.body.error.details).toEqual([{ field, message: expect.stringMatching(message) }]);
    expect((await getSso(owner.token)).body.data).toEqual(before);
  });

  it('refuses a domain listed twice, and bodies of the wrong shape (400)', async () => {
    const domain = uniqueDomain('twice');
    const twice = await putSso(owner.token, { trustProviderMfa: false, jitDomains: [{ domain, role: 'viewer' }, { domain: domain.toUpperCase(), role: 'analyst' }] });
    expectError(twice, 400, 'VALIDATION_FAILED');
    expect(twice.body.error.details).toEqual([{ field: 'jitDomains[1].domain', message: expect.stringMatching(/listed twice/) }]);
    for (const body of [
      { jitDomains: [] },
      { trustProviderMfa: 'yes', jitDomains: [] },
      { trustProviderMfa: false },
      { trustProviderMfa: false, jitDomains: 'acme.example' },
      { trustProviderMfa: false, jitDomains: [{ domain: 'acme.example' }] },
      { trustProviderMfa: false, jitDomains: [{ domain: 'acme.example', role: 'viewer', extra: 1 }] },
      { trustProviderMfa: false, jitDomains: [], retailerId: owner.retailerId },
    ]) {
      expectError(await putSso(owner.token, body), 400, 'VALIDATION_FAILED');
    }
  });

  it("refuses a domain another retailer has verified (409 CONFLICT), and keeps the other retailer's claim", async () => {
    const other = await registerOwner(mailing().instance);
    const otherToken = (await login(mailing().instance, other.email)).token;
    const domain = uniqueDomain('claimed');
    await claimVerifiedDomain(mailing().instance, dns(), otherToken, domain);
    const before = (await getSso(owner.token)).body.data;

    const res = await putSso(owner.token, { trustProviderMfa: !before.trustProviderMfa, jitDomains: [{ domain: domain.toUpperCase(), role: 'viewer' }] });
    expectError(res, 409, 'CONFLICT');
    expect(res.body.error.message).toContain(domain);
    expect((await getSso(owner.token)).body.data).toEqual(before);
    expect(await db.query(`SELECT retailer_id, verified_at IS NOT NULL AS verified FROM sso_domains WHERE domain = $1`, [domain])).toEqual([{ retailer_id: other.retailerId, verified: true }]);
  });

  it('an admin may change them; a viewer or an analyst may neither read nor change them (403 FORBIDDEN)', async () => {
    const admin = await memberWithRole('admin');
    const res = await putSso(admin, { trustProviderMfa: false, jitDomains: [{ domain: uniqueDomain('by-admin'), role: 'admin' }] });
    expect(res.status).toBe(200);
    for (const role of ['viewer', 'analyst']) {
      const token = await memberWithRole(role);
      expectError(await getSso(token), 403, 'FORBIDDEN');
      expectError(await putSso(token, { trustProviderMfa: true, jitDomains: [{ domain: uniqueDomain(role), role: 'admin' }] }), 403, 'FORBIDDEN');
    }
    expect((await getSso(owner.token)).body.data.trustProviderMfa).toBe(false);
  });

  it('needs a credential (401) and refuses an impersonating admin, even with full access (403 FORBIDDEN, audited)', async () => {
    expectError(await request(mailing().instance.http).get(ROUTE), 401, 'TOKEN_MISSING');
    expectError(await request(mailing().instance.http).put(ROUTE).send({ trustProviderMfa: true, jitDomains: [] }), 401, 'TOKEN_MISSING');

    const admin = await signedInAdmin(mailing().instance, mailing().mailbox, { fullAccess: true });
    const impersonation = await impersonate(mailing().instance, admin.token, owner.retailerId);
    const before = (await getSso(owner.token)).body.data;
    // Reading is support work; changing who may sign in is a credential change.
    expect((await getSso(impersonation.token)).status).toBe(200);
    const res = await putSso(impersonation.token, { trustProviderMfa: !before.trustProviderMfa, jitDomains: [{ domain: uniqueDomain('imp'), role: 'admin' }] });
    expectError(res, 403, 'FORBIDDEN');
    expect((await getSso(owner.token)).body.data).toEqual(before);
    const [row] = await db.query(`SELECT * FROM audit_logs WHERE request_id = $1 AND event = 'impersonated_request'`, [res.headers['x-request-id']]);
    expect(row).toMatchObject({ actor_id: admin.id, retailer_id: owner.retailerId, status: 'failure' });
    expect(row.metadata).toMatchObject({ refused: 'credentials', method: 'PUT' });
  });
});
