import { getDataSourceToken } from '@nestjs/typeorm';
import { hash } from 'bcrypt';
import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { ADMIN_SUITE_ENV, impersonate, signedInAdmin } from '../factories/admin.factory';
import { cookieValue, login, registerOwner, RegisteredOwner, STRONG_PASSWORD, uniqueEmail } from '../factories/retailer.factory';
import { claimVerifiedDomain, putSsoSettings, ssoEnv, ssoSignIn, SSO_REDIRECT, verifySsoDomain } from '../factories/sso.factory';
import { DnsStandIn } from '../support/dns-stand-in';
import { expectError, expectWorks } from '../support/expectations';
import { OidcStandIn, startProviders } from '../support/oidc-provider';
import { isolatedLimits, startInstance } from '../support/test-app';
import { MailingInstance, startWithMailbox } from '../support/with-mailbox';

/**
 * Proving a just-in-time domain with a DNS TXT record, against a real resolver (node:dns) asking a
 * DNS stand-in on loopback: a listed domain is pending and shows the record to publish; the verify
 * route finds it (or says what is missing), and only then do the domain's people get an account on
 * their first SSO sign-in. One retailer at most holds a domain verified.
 */

let dns: DnsStandIn;
let providers: Record<'google' | 'microsoft' | 'okta', OidcStandIn>;
let mailing: MailingInstance;
let db: DataSource;

beforeAll(async () => {
  dns = await DnsStandIn.start();
  providers = await startProviders();
  mailing = await startWithMailbox({ env: ssoEnv(providers, { ...ADMIN_SUITE_ENV, ...dns.env() }) });
  db = mailing.instance.app.get<DataSource>(getDataSourceToken());
});

afterAll(async () => {
  await mailing?.close();
  await Promise.all(Object.values(providers ?? {}).map((p) => p.stop()));
  await dns?.stop();
});

const uniqueDomain = (label = 'acme') => `${label}-${Math.random().toString(36).slice(2, 8)}.example`;
const http = () => mailing.instance.http;

interface Owner extends RegisteredOwner {
  token: string;
}

async function owner(): Promise<Owner> {
  const registered = await registerOwner(mailing.instance);
  return { ...registered, token: (await login(mailing.instance, registered.email)).token };
}

function getSso(token: string): Promise<Response> {
  return request(http()).get('/api/v1/settings/security/sso').set('Authorization', `Bearer ${token}`);
}

function putSso(token: string, jitDomains: Array<{ domain: string; role: string }>, trustProviderMfa = false): Promise<Response> {
  return request(http()).put('/api/v1/settings/security/sso').set('Authorization', `Bearer ${token}`).send({ trustProviderMfa, jitDomains });
}

const verify = (token: string, domain: string) => verifySsoDomain(mailing.instance, token, domain);

/** The domain as the settings show it. */
async function shown(token: string, domain: string): Promise<any> {
  return (await getSso(token)).body.data.jitDomains.find((d: { domain: string }) => d.domain === domain);
}

/** Lists `domain` (pending) for `who`, keeping nothing else, and returns the record to publish. */
async function listPending(who: Owner, domain: string, role = 'viewer'): Promise<{ name: string; value: string }> {
  const data = await putSsoSettings(mailing.instance, who.token, { trustProviderMfa: false, jitDomains: [{ domain, role }] });
  return data.jitDomains.find((d: { domain: string }) => d.domain === domain).verification;
}

const auditRows = (res: Response, event: string): Promise<any[]> => db.query(`SELECT * FROM audit_logs WHERE request_id = $1 AND event = $2`, [res.headers['x-request-id'], event]);
const verifyAudits = async (res: Response): Promise<any[]> =>
  db.query(`SELECT event FROM audit_logs WHERE request_id = $1 AND event LIKE 'sso_domain_%'`, [res.headers['x-request-id']]);
const claims = (domain: string): Promise<Array<{ retailer_id: string; verified: boolean }>> =>
  db.query(`SELECT retailer_id, verified_at IS NOT NULL AS verified FROM sso_domains WHERE domain = $1 ORDER BY created_at`, [domain]);

/** A first SSO sign-in (Google) of a newcomer of `domain`: where they land, and the account they got. */
async function newcomerSignsIn(domain: string): Promise<{ fragment: Record<string, string>; user?: { retailer_id: string; role: string } }> {
  const email = `new.${Math.random().toString(36).slice(2, 8)}@${domain}`;
  const outcome = await ssoSignIn(mailing.instance, providers.google, 'google', { sub: `g-${email}`, email, email_verified: true });
  expect(outcome.landing).toBe(SSO_REDIRECT);
  const [user] = await db.query(`SELECT retailer_id, role FROM users WHERE email = $1`, [email]);
  return { fragment: outcome.fragment, user };
}

/** The 400 of a verification that did not find the record: names the record, the value, and DNS delays. */
function expectNotVerified(res: Response, record: { name: string; value: string }, found: RegExp): void {
  expectError(res, 400, 'VALIDATION_FAILED');
  expect(res.body.error.details).toEqual([{ field: 'domain', message: expect.stringMatching(found) }]);
  const message: string = res.body.error.details[0].message;
  expect(message).toContain(record.name);
  expect(message).toContain(record.value);
  expect(message).toMatch(/DNS changes can take a while/);
}

describe('verifying a JIT domain', () => {
  it('the whole flow: listed pending with the record to publish, verified once published, and only then JIT provisions', async () => {
    const acme = await owner();
    const domain = uniqueDomain('flow');
    const put = await putSso(acme.token, [{ domain, role: 'analyst' }]);
    expect(put.status).toBe(200);
    const listed = {
      domain,
      role: 'analyst',
      status: 'pending',
      verifiedAt: null,
      verification: { type: 'TXT', name: `_retail-auth.${domain}`, value: expect.stringMatching(/^retail-auth-domain-verification=[A-Za-z0-9_-]{32}$/) },
    };
    expect(put.body.data.jitDomains).toEqual([listed]);
    expect((await getSso(acme.token)).body.data.jitDomains).toEqual(put.body.data.jitDomains);
    const record = put.body.data.jitDomains[0].verification;

    // Pending: the domain's people are strangers still.
    const early = await newcomerSignsIn(domain);
    expect({ error: early.fragment.error, user: early.user }).toEqual({ error: 'FORBIDDEN', user: undefined });

    dns.publishTxt(record.name, 'v=spf1 -all', record.value);
    // The path takes the domain as people type it.
    const res = await verify(acme.token, `${domain.toUpperCase()}.`);
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 200, error: undefined });
    const verified = res.body.data.jitDomains[0];
    expect(verified).toEqual({ ...listed, status: 'verified', verifiedAt: expect.any(String), verification: record });
    expect(Math.abs(Date.parse(verified.verifiedAt) - Date.now())).toBeLessThan(60_000);
    expect(await shown(acme.token, domain)).toEqual(verified);
    expect(dns.questions).toContain(`${record.name} TXT`);
    const [row] = await auditRows(res, 'sso_domain_verified');
    expect(row).toMatchObject({ actor_id: acme.userId, retailer_id: acme.retailerId, status: 'success' });
    expect(row.metadata).toEqual({ domain, record: record.name });

    const joined = await newcomerSignsIn(domain);
    expect(joined.fragment).toEqual({});
    expect(joined.user).toEqual({ retailer_id: acme.retailerId, role: 'analyst' });

    // Verifying again changes nothing, even with the record gone.
    dns.unpublish(record.name);
    const again = await verify(acme.token, domain);
    expect({ status: again.status, domain: again.body.data.jitDomains[0] }).toEqual({ status: 200, domain: verified });
    expect(await verifyAudits(again)).toEqual([]);
  });

  it('refuses a record with another value (400 VALIDATION_FAILED naming the record), audited, nothing stored', async () => {
    const acme = await owner();
    const domain = uniqueDomain('wrong');
    const record = await listPending(acme, domain);
    for (const values of [
      ['retail-auth-domain-verification=not-the-token'],
      [`${record.value}x`],
      [record.value.toUpperCase()],
      ['v=spf1 -all', record.value.replace('retail-auth-domain-verification=', '')],
    ]) {
      dns.publishTxt(record.name, ...values);
      const res = await verify(acme.token, domain);
      expectNotVerified(res, record, /None of the TXT records/);
      const [row] = await auditRows(res, 'sso_domain_verification_failed');
      expect(row).toMatchObject({ actor_id: acme.userId, retailer_id: acme.retailerId, status: 'failure', reason: 'VALIDATION_FAILED' });
      expect(row.metadata).toEqual({ domain, record: record.name, detail: 'value_mismatch' });
    }
    expect(await shown(acme.token, domain)).toMatchObject({ status: 'pending', verifiedAt: null });
    expect(await claims(domain)).toEqual([{ retailer_id: acme.retailerId, verified: false }]);
  });

  it('refuses a missing record, and one published on the bare domain instead of _retail-auth. (400)', async () => {
    const acme = await owner();
    const domain = uniqueDomain('missing');
    const record = await listPending(acme, domain);
    const missing = await verify(acme.token, domain);
    expectNotVerified(missing, record, /There is no TXT record at/);
    expect((await auditRows(missing, 'sso_domain_verification_failed'))[0].metadata).toEqual({ domain, record: record.name, detail: 'record_missing' });

    dns.publishTxt(domain, record.value);
    expectNotVerified(await verify(acme.token, domain), record, /There is no TXT record at/);
    expect(await claims(domain)).toEqual([{ retailer_id: acme.retailerId, verified: false }]);
  });

  it('accepts a record DNS carries in several chunks (joined before comparing)', async () => {
    const acme = await owner();
    const domain = uniqueDomain('chunks');
    const record = await listPending(acme, domain);
    dns.publishTxt(record.name, [record.value.slice(0, 20), record.value.slice(20, 40), record.value.slice(40)]);
    const res = await verify(acme.token, domain);
    expect({ status: res.status, state: res.body.data?.jitDomains[0].status }).toEqual({ status: 200, state: 'verified' });
  });

  it.each([
    ['a resolver answering SERVFAIL', 'servfail', 'ESERVFAIL'],
    ['a resolver that never answers (timeout)', 'timeout', 'ETIMEOUT'],
  ] as const)('%s is 503 SERVICE_UNAVAILABLE, nothing stored, a warning logged without the token', async (_label, how, code) => {
    const acme = await owner();
    const domain = uniqueDomain(how);
    const record = await listPending(acme, domain);
    dns.misbehave(record.name, how);
    const began = Date.now();
    const res = await verify(acme.token, domain);
    const tookMs = Date.now() - began;
    expectError(res, 503, 'SERVICE_UNAVAILABLE');
    expect(res.body.error.message).toContain(record.name);
    // SSO_DNS_TIMEOUT is 500 ms here.
    expect(tookMs).toBeLessThan(2000);
    if (how === 'timeout') expect(tookMs).toBeGreaterThanOrEqual(450);
    expect(await claims(domain)).toEqual([{ retailer_id: acme.retailerId, verified: false }]);
    expect(await verifyAudits(res)).toEqual([]);
    const warning = mailing.instance.logs.records().find((r) => r.requestId === res.headers['x-request-id'] && r.msg === 'sso domain verification: DNS lookup failed');
    expect(warning).toMatchObject({ level: 'warn', domain, dnsCode: code, retailerId: acme.retailerId });
    expect(mailing.instance.logs.text).not.toContain(record.value.split('=')[1]);

    // Once DNS answers again, the same claim verifies.
    dns.publishTxt(record.name, record.value);
    expect((await verify(acme.token, domain)).status).toBe(200);
  });

  it("is 404 NOT_FOUND for a domain not in the retailer's list, another retailer's, or not a domain at all", async () => {
    const acme = await owner();
    const other = await owner();
    const listed = uniqueDomain('listed');
    await listPending(acme, listed);
    const othersDomain = uniqueDomain('others');
    const record = await listPending(other, othersDomain);
    dns.publishTxt(record.name, record.value);
    for (const domain of [uniqueDomain('unlisted'), othersDomain, `eu.${listed}`, 'not a domain', 'localhost', 'a..example', `${'x'.repeat(300)}.example`, 'boss@acme.example']) {
      const res = await verify(acme.token, domain);
      expect({ domain, status: res.status, code: res.body.error?.code }).toEqual({ domain, status: 404, code: 'NOT_FOUND' });
    }
    expect(await claims(othersDomain)).toEqual([{ retailer_id: other.retailerId, verified: false }]);
  });

  it('two retailers may hold one domain pending; the first to verify holds it, the other gets 409 CONFLICT', async () => {
    const [first, second, third] = [await owner(), await owner(), await owner()];
    const domain = uniqueDomain('contested');
    const firstRecord = await listPending(first, domain, 'analyst');
    const secondRecord = await listPending(second, domain, 'admin');
    expect(firstRecord.name).toBe(secondRecord.name);
    expect(firstRecord.value).not.toBe(secondRecord.value);
    expect(await claims(domain)).toEqual([
      { retailer_id: first.retailerId, verified: false },
      { retailer_id: second.retailerId, verified: false },
    ]);

    // The second retailer's record does not prove the first retailer's claim.
    dns.publishTxt(secondRecord.name, secondRecord.value);
    expectNotVerified(await verify(first.token, domain), firstRecord, /None of the TXT records/);

    dns.publishTxt(firstRecord.name, firstRecord.value, secondRecord.value);
    expect((await verify(first.token, domain)).status).toBe(200);
    const late = await verify(second.token, domain);
    expectError(late, 409, 'CONFLICT');
    expect(late.body.error.message).toContain(domain);
    expect(await shown(second.token, domain)).toMatchObject({ status: 'pending', verifiedAt: null });
    // The claim that lost stays listed (pending, provisioning nobody) and the retailer can still
    // save its other settings; it is only listing the domain anew that is refused.
    const saved = await putSso(second.token, [{ domain, role: 'viewer' }], true);
    expect({ status: saved.status, trust: saved.body.data?.trustProviderMfa }).toEqual({ status: 200, trust: true });
    expect(await shown(second.token, domain)).toMatchObject({ role: 'viewer', status: 'pending' });
    expect(await claims(domain)).toEqual([
      { retailer_id: first.retailerId, verified: true },
      { retailer_id: second.retailerId, verified: false },
    ]);

    // Newcomers join the retailer that proved the domain.
    expect((await newcomerSignsIn(domain)).user).toEqual({ retailer_id: first.retailerId, role: 'analyst' });
    // A verified domain cannot be listed by anyone else any more (409), naming it.
    const put = await putSso(third.token, [{ domain, role: 'viewer' }]);
    expectError(put, 409, 'CONFLICT');
    expect(put.body.error.message).toContain(domain);
    expect(await shown(third.token, domain)).toBeUndefined();
    // Nor listed again by the retailer whose claim lost, once it dropped it.
    expectWorks(await putSso(second.token, []));
    expectError(await putSso(second.token, [{ domain, role: 'viewer' }]), 409, 'CONFLICT');
    expect(await claims(domain)).toEqual([{ retailer_id: first.retailerId, verified: true }]);
  });

  it('two retailers verifying at once: exactly one holds the domain, the other gets 409 CONFLICT', async () => {
    const [one, two] = [await owner(), await owner()];
    const domain = uniqueDomain('race');
    const records = [await listPending(one, domain), await listPending(two, domain)];
    dns.publishTxt(records[0].name, records[0].value, records[1].value);
    const answers = await Promise.all([verify(one.token, domain), verify(two.token, domain)]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    const winner = answers[0].status === 200 ? one : two;
    expect(await claims(domain)).toEqual(expect.arrayContaining([{ retailer_id: winner.retailerId, verified: true }]));
    expect((await claims(domain)).filter((c) => c.verified)).toHaveLength(1);
  });

  it('a verified domain stays verified, with its token, when the list is saved again (even with a new role)', async () => {
    const acme = await owner();
    const domain = uniqueDomain('kept');
    await claimVerifiedDomain(mailing.instance, dns, acme.token, domain, 'viewer');
    const before = await shown(acme.token, domain);
    const added = uniqueDomain('added');
    const res = await putSso(acme.token, [{ domain: added, role: 'viewer' }, { domain, role: 'analyst' }], true);
    expect(res.status).toBe(200);
    expect(res.body.data.jitDomains.find((d: { domain: string }) => d.domain === domain)).toEqual({ ...before, role: 'analyst' });
    expect(res.body.data.jitDomains.find((d: { domain: string }) => d.domain === added)).toMatchObject({ status: 'pending', verifiedAt: null });
    expect((await newcomerSignsIn(domain)).user).toEqual({ retailer_id: acme.retailerId, role: 'analyst' });
  });

  it('a domain removed and listed again is pending again, with a new token: the old record no longer proves it', async () => {
    const acme = await owner();
    const domain = uniqueDomain('relisted');
    await claimVerifiedDomain(mailing.instance, dns, acme.token, domain);
    const old = (await shown(acme.token, domain)).verification;
    await putSsoSettings(mailing.instance, acme.token, { trustProviderMfa: false, jitDomains: [] });
    const again = await listPending(acme, domain);
    expect(again.value).not.toBe(old.value);
    expect(await shown(acme.token, domain)).toMatchObject({ status: 'pending', verifiedAt: null });
    expect((await newcomerSignsIn(domain)).fragment.error).toBe('FORBIDDEN');
    // The old record is still published.
    expectNotVerified(await verify(acme.token, domain), again, /None of the TXT records/);
  });

  it('an admin may verify; a viewer or an analyst may not (403 FORBIDDEN), and nothing changes', async () => {
    const acme = await owner();
    const domain = uniqueDomain('roles');
    const record = await listPending(acme, domain);
    dns.publishTxt(record.name, record.value);
    const memberWithRole = async (role: string): Promise<string> => {
      const email = uniqueEmail(role);
      await db.query(`INSERT INTO users (retailer_id, email, name, password_hash, role) VALUES ($1, $2, 'Member', $3, $4)`, [acme.retailerId, email, await hash(STRONG_PASSWORD, 4), role]);
      return (await login(mailing.instance, email)).token;
    };
    for (const role of ['viewer', 'analyst']) {
      const res = await verify(await memberWithRole(role), domain);
      expectError(res, 403, 'FORBIDDEN');
      expect(await verifyAudits(res)).toEqual([]);
    }
    expect(await claims(domain)).toEqual([{ retailer_id: acme.retailerId, verified: false }]);
    const admin = await verify(await memberWithRole('admin'), domain);
    expect({ status: admin.status, state: admin.body.data?.jitDomains[0].status }).toEqual({ status: 200, state: 'verified' });
  });

  it('needs a retailer credential (401 without one or with an admin token) and refuses an impersonating admin, even with full access (403 FORBIDDEN, audited)', async () => {
    const acme = await owner();
    const domain = uniqueDomain('imp');
    const record = await listPending(acme, domain);
    dns.publishTxt(record.name, record.value);
    expectError(await request(http()).post(`/api/v1/settings/security/sso/domains/${domain}/verify`), 401, 'TOKEN_MISSING');

    const admin = await signedInAdmin(mailing.instance, mailing.mailbox, { fullAccess: true });
    // Another token type (an admin's own) is not a retailer credential.
    expectError(await verify(admin.token, domain), 401, 'TOKEN_INVALID');
    const impersonation = await impersonate(mailing.instance, admin.token, acme.retailerId);
    const res = await verify(impersonation.token, domain);
    expectError(res, 403, 'FORBIDDEN');
    expect(await claims(domain)).toEqual([{ retailer_id: acme.retailerId, verified: false }]);
    const [row] = await auditRows(res, 'impersonated_request');
    expect(row).toMatchObject({ actor_id: admin.id, retailer_id: acme.retailerId, status: 'failure' });
    expect(row.metadata).toMatchObject({ refused: 'credentials', method: 'POST' });
  });
});

describe('existing members', () => {
  it('an existing member is still matched by email first, whatever retailer verified the domain', async () => {
    const acme = await owner();
    const domain = uniqueDomain('members');
    // A member of another retailer whose email is at the domain acme verifies.
    const other = await registerOwner(mailing.instance, { email: `boss@${domain}` });
    await claimVerifiedDomain(mailing.instance, dns, acme.token, domain);
    const outcome = await ssoSignIn(mailing.instance, providers.google, 'google', { email: other.email, email_verified: true });
    expect(outcome.fragment).toEqual({});
    expect(cookieValue(outcome.cookies, 'retailer_access_token')).toEqual(expect.any(String));
    const [user] = await db.query(`SELECT retailer_id FROM users WHERE email = $1`, [other.email]);
    expect(user.retailer_id).toBe(other.retailerId);
  });
});

describe('the verify rate limit', () => {
  it('limits verifications per address (429 TOO_MANY_ATTEMPTS with Retry-After) before asking DNS', async () => {
    const b = await startInstance({ env: isolatedLimits(ssoEnv(providers, { ...dns.env(), RATE_LIMIT_SSO_VERIFY_IP: '2/1m' })) });
    try {
      const registered = await registerOwner(b);
      const token = (await login(b, registered.email)).token;
      const domain = uniqueDomain('limited');
      const data = await putSsoSettings(b, token, { trustProviderMfa: false, jitDomains: [{ domain, role: 'viewer' }] });
      const record = data.jitDomains[0].verification;
      expectError(await verifySsoDomain(b, token, domain), 400, 'VALIDATION_FAILED');
      expectError(await verifySsoDomain(b, token, domain), 400, 'VALIDATION_FAILED');
      const asked = dns.questions.filter((q) => q.startsWith(record.name)).length;

      dns.publishTxt(record.name, record.value);
      const limited = await verifySsoDomain(b, token, domain);
      expectError(limited, 429, 'TOO_MANY_ATTEMPTS');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(dns.questions.filter((q) => q.startsWith(record.name)).length).toBe(asked); // DNS was not asked
      expect(await claims(domain)).toEqual([{ retailer_id: registered.retailerId, verified: false }]);
    } finally {
      await b.close();
    }
  });
});
