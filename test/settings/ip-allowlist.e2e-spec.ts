import { getDataSourceToken } from '@nestjs/typeorm';
import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { login, registerOwner, RegisteredOwner } from '../factories/retailer.factory';
import { hasRedis, startInstance, TestInstance } from '../support/test-app';

/**
 * The retailer-wide IP allowlist (GET/PUT /settings/security/ip-allowlist) over HTTP, on real
 * instances sharing the run's Postgres and Redis: what is stored, what is refused, and how it
 * gates retailer tokens (RetailerIpAllowlistGuard) and the retailer's API keys, on this instance
 * and on another one. Every test request comes from 127.0.0.1; an instance with
 * TRUST_PROXY=loopback believes the X-Forwarded-For header, one without it does not.
 */

const BASE_ENV = { RATE_LIMIT_REGISTER_IP: '1000/1h', RATE_LIMIT_LOGIN_IP: '1000/15m' };
const ROUTE = '/api/v1/settings/security/ip-allowlist';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Owner extends RegisteredOwner {
  token: string;
}

async function signedInOwner(instance: TestInstance): Promise<Owner> {
  const owner = await registerOwner(instance);
  return { ...owner, token: (await login(instance, owner.email)).token };
}

function withXff(req: request.Test, xff?: string): request.Test {
  return xff ? req.set('X-Forwarded-For', xff) : req;
}

function getAllowlist(instance: TestInstance, token: string, xff?: string): Promise<Response> {
  return withXff(request(instance.http).get(ROUTE).set('Authorization', `Bearer ${token}`), xff);
}

function putAllowlist(instance: TestInstance, token: string, body: unknown, xff?: string): Promise<Response> {
  return withXff(request(instance.http).put(ROUTE).set('Authorization', `Bearer ${token}`), xff).send(body as object);
}

function me(instance: TestInstance, token: string, xff?: string): Promise<Response> {
  return withXff(request(instance.http).get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`), xff);
}

function reportingMe(instance: TestInstance, key: string, xff?: string): Promise<Response> {
  return withXff(request(instance.http).get('/api/v1/reporting/me').set('X-API-Key', key), xff);
}

async function newReportingKey(instance: TestInstance, token: string): Promise<string> {
  const res = await request(instance.http)
    .post('/api/v1/api-keys')
    .set('Authorization', `Bearer ${token}`)
    .send({ name: 'BI export', type: 'reporting', scopes: ['reporting:read'] });
  expect({ status: res.status, error: res.body?.error }).toEqual({ status: 201, error: undefined });
  return res.body.data.key;
}

function expectError(res: Response, status: number, code: string): void {
  expect({ status: res.status, success: res.body?.success, code: res.body?.error?.code }).toEqual({ status, success: false, code });
}

function expectWorks(res: Response): void {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status: 200, code: undefined });
}

/** Polls every 50 ms until `check` holds for the answer, for at most `withinMs`; returns the last answer. */
async function pollUntil(send: () => Promise<Response>, check: (res: Response) => boolean, withinMs = 1000): Promise<Response> {
  const deadline = Date.now() + withinMs;
  let res = await send();
  while (!check(res) && Date.now() < deadline) {
    await sleep(50);
    res = await send();
  }
  return res;
}

const isRefused = (res: Response) => res.status === 403 && res.body?.error?.code === 'IP_NOT_ALLOWED';
const isOk = (res: Response) => res.status === 200;

describe('IP allowlist (one instance, no TRUST_PROXY)', () => {
  let a: TestInstance;
  let db: DataSource;

  beforeAll(async () => {
    a = await startInstance({ env: BASE_ENV });
    db = a.app.get<DataSource>(getDataSourceToken());
  });
  afterAll(() => a?.close());

  it('starts switched off and empty', async () => {
    const owner = await signedInOwner(a);
    const res = await getAllowlist(a, owner.token);
    expectWorks(res);
    expect(res.body.data).toEqual({ enabled: false, cidrs: [] });
  });

  it('saves a list containing the caller, normalised; requests keep working; the change is audit-logged', async () => {
    const owner = await signedInOwner(a);
    const res = await putAllowlist(a, owner.token, { enabled: true, cidrs: ['127.0.0.1/32', '10.1.2.3/8', '2001:db8::1/32', '10.0.0.0/8'] });
    expectWorks(res);
    expect(res.body.data).toEqual({ enabled: true, cidrs: ['127.0.0.1/32', '10.0.0.0/8', '2001:db8::/32'] });
    expect((await getAllowlist(a, owner.token)).body.data).toEqual({ enabled: true, cidrs: ['127.0.0.1/32', '10.0.0.0/8', '2001:db8::/32'] });
    expectWorks(await me(a, owner.token));

    const [row] = await db.query(`SELECT ip_allowlist_enabled, ip_allowlist FROM retailers WHERE id = $1`, [owner.retailerId]);
    expect(row).toEqual({ ip_allowlist_enabled: true, ip_allowlist: ['127.0.0.1/32', '10.0.0.0/8', '2001:db8::/32'] });

    const audit = await request(a.http).get('/api/v1/audit-logs').query({ event: 'ip_allowlist_updated' }).set('Authorization', `Bearer ${owner.token}`);
    expectWorks(audit);
    expect(audit.body.data.items).toHaveLength(1);
    expect(audit.body.data.items[0]).toMatchObject({
      actorType: 'user',
      actorId: owner.userId,
      retailerId: owner.retailerId,
      status: 'success',
      ip: '127.0.0.1',
      metadata: { enabled: true, cidrs: ['127.0.0.1/32', '10.0.0.0/8', '2001:db8::/32'], previous: { enabled: false, cidrs: [] } },
    });
  });

  it('refuses (400) a switched-on list that excludes the caller, and nothing changes', async () => {
    const owner = await signedInOwner(a);
    expectWorks(await putAllowlist(a, owner.token, { enabled: true, cidrs: ['127.0.0.1/32'] }));
    const res = await putAllowlist(a, owner.token, { enabled: true, cidrs: ['10.0.0.0/8'] });
    expectError(res, 400, 'VALIDATION_FAILED');
    expect(res.body.error.details).toEqual([expect.objectContaining({ field: 'cidrs', message: expect.stringContaining('127.0.0.1') })]);
    // An empty switched-on list excludes everybody, the caller included.
    expectError(await putAllowlist(a, owner.token, { enabled: true, cidrs: [] }), 400, 'VALIDATION_FAILED');
    expect((await getAllowlist(a, owner.token)).body.data).toEqual({ enabled: true, cidrs: ['127.0.0.1/32'] });
    expectWorks(await me(a, owner.token));
  });

  it('keeps a switched-off list whatever it holds', async () => {
    const owner = await signedInOwner(a);
    const res = await putAllowlist(a, owner.token, { enabled: false, cidrs: ['10.0.0.0/8'] });
    expectWorks(res);
    expect(res.body.data).toEqual({ enabled: false, cidrs: ['10.0.0.0/8'] });
    expectWorks(await me(a, owner.token));
  });

  it('refuses malformed CIDRs with 400 naming each one, and nothing changes', async () => {
    const owner = await signedInOwner(a);
    const res = await putAllowlist(a, owner.token, { enabled: true, cidrs: ['127.0.0.1/32', '10.0.0.0/33', 'abc', '1.2.3.4/-1', '::1/129'] });
    expectError(res, 400, 'VALIDATION_FAILED');
    const details = res.body.error.details as Array<{ field: string; message: string }>;
    expect(details.map((d) => d.field)).toEqual(['cidrs[1]', 'cidrs[2]', 'cidrs[3]', 'cidrs[4]']);
    for (const [i, entry] of ['10.0.0.0/33', 'abc', '1.2.3.4/-1', '::1/129'].entries()) expect(details[i].message).toContain(entry);
    expect((await getAllowlist(a, owner.token)).body.data).toEqual({ enabled: false, cidrs: [] });
  });

  it('refuses bodies of the wrong shape (400)', async () => {
    const owner = await signedInOwner(a);
    const tooMany = Array.from({ length: 101 }, (_, i) => `10.0.${i}.0/24`);
    for (const body of [
      { cidrs: ['127.0.0.1/32'] },
      { enabled: 'yes', cidrs: ['127.0.0.1/32'] },
      { enabled: true },
      { enabled: true, cidrs: '127.0.0.1/32' },
      { enabled: true, cidrs: [42] },
      { enabled: true, cidrs: ['127.0.0.1/32', ...tooMany] },
      { enabled: true, cidrs: ['127.0.0.1/32'], extra: 1 },
    ]) {
      expectError(await putAllowlist(a, owner.token, body), 400, 'VALIDATION_FAILED');
    }
    expect((await getAllowlist(a, owner.token)).body.data).toEqual({ enabled: false, cidrs: [] });
  });

  it('stores an IPv4-mapped IPv6 entry as the IPv4 one, which matches 127.0.0.1', async () => {
    const owner = await signedInOwner(a);
    const res = await putAllowlist(a, owner.token, { enabled: true, cidrs: ['::ffff:127.0.0.1'] });
    expectWorks(res);
    expect(res.body.data.cidrs).toEqual(['127.0.0.1/32']);
    expectWorks(await me(a, owner.token));
    expect((await putAllowlist(a, owner.token, { enabled: true, cidrs: ['::ffff:127.0.0.0/104'] })).body.data?.cidrs).toEqual(['127.0.0.0/8']);
    expectWorks(await me(a, owner.token));
  });

  it('accepts IPv6 CIDRs', async () => {
    const owner = await signedInOwner(a);
    const res = await putAllowlist(a, owner.token, { enabled: true, cidrs: ['::1/128', '127.0.0.1', '2001:DB8:0:0::/48'] });
    expectWorks(res);
    expect(res.body.data.cidrs).toEqual(['::1/128', '127.0.0.1/32', '2001:db8::/48']);
    expectWorks(await me(a, owner.token));
  });

  it('needs settings:read to see and settings:write to change: a viewer gets 403 FORBIDDEN', async () => {
    const owner = await signedInOwner(a);
    await db.query(`UPDATE users SET role = 'viewer' WHERE id = $1`, [owner.userId]);
    const viewer = (await login(a, owner.email)).token;
    expectError(await putAllowlist(a, viewer, { enabled: true, cidrs: ['127.0.0.1/32'] }), 403, 'FORBIDDEN');
    expectError(await getAllowlist(a, viewer), 403, 'FORBIDDEN');
    const [row] = await db.query(`SELECT ip_allowlist_enabled, ip_allowlist FROM retailers WHERE id = $1`, [owner.retailerId]);
    expect(row).toEqual({ ip_allowlist_enabled: false, ip_allowlist: [] });
  });

  it('needs a token: 401 TOKEN_MISSING without one', async () => {
    expectError(await request(a.http).get(ROUTE), 401, 'TOKEN_MISSING');
    expectError(await request(a.http).put(ROUTE).send({ enabled: false, cidrs: [] }), 401, 'TOKEN_MISSING');
  });
});

describe('IP allowlist behind a trusted proxy (TRUST_PROXY=loopback)', () => {
  let a: TestInstance;

  beforeAll(async () => {
    a = await startInstance({ env: { ...BASE_ENV, TRUST_PROXY: 'loopback' } });
  });
  afterAll(() => a?.close());

  it('judges the forwarded address: inside passes, outside is 403 IP_NOT_ALLOWED for tokens and the retailer\'s API keys', async () => {
    const owner = await signedInOwner(a);
    const key = await newReportingKey(a, owner.token);
    const saved = await putAllowlist(a, owner.token, { enabled: true, cidrs: ['127.0.0.1/32', '203.0.113.0/24'] }, '203.0.113.7');
    expectWorks(saved);
    expect(saved.body.data).toEqual({ enabled: true, cidrs: ['127.0.0.1/32', '203.0.113.0/24'] });

    expectWorks(await me(a, owner.token, '203.0.113.7'));
    expectWorks(await reportingMe(a, key, '203.0.113.7'));
    expectWorks(await me(a, owner.token));

    expectError(await me(a, owner.token, '198.51.100.1'), 403, 'IP_NOT_ALLOWED');
    expectError(await reportingMe(a, key, '198.51.100.1'), 403, 'IP_NOT_ALLOWED');
    // Outside, the settings route is closed too (only a caller inside can change the list).
    expectError(await getAllowlist(a, owner.token, '198.51.100.1'), 403, 'IP_NOT_ALLOWED');
    expectError(await putAllowlist(a, owner.token, { enabled: false, cidrs: [] }, '198.51.100.1'), 403, 'IP_NOT_ALLOWED');
    // An IPv4-mapped forwarded address is the IPv4 one.
    expectWorks(await me(a, owner.token, '::ffff:203.0.113.9'));
  });

  it('refuses a list that excludes the forwarded caller even when the socket peer is inside it', async () => {
    const owner = await signedInOwner(a);
    const res = await putAllowlist(a, owner.token, { enabled: true, cidrs: ['127.0.0.1/32'] }, '203.0.113.7');
    expectError(res, 400, 'VALIDATION_FAILED');
    expect(res.body.error.details[0].message).toContain('203.0.113.7');
  });

  it('disabling the list restores access from anywhere', async () => {
    const owner = await signedInOwner(a);
    const key = await newReportingKey(a, owner.token);
    expectWorks(await putAllowlist(a, owner.token, { enabled: true, cidrs: ['203.0.113.0/24'] }, '203.0.113.7'));
    expectError(await me(a, owner.token, '198.51.100.1'), 403, 'IP_NOT_ALLOWED');
    expectError(await reportingMe(a, key, '198.51.100.1'), 403, 'IP_NOT_ALLOWED');

    const off = await putAllowlist(a, owner.token, { enabled: false, cidrs: ['203.0.113.0/24'] }, '203.0.113.7');
    expectWorks(off);
    expect(off.body.data).toEqual({ enabled: false, cidrs: ['203.0.113.0/24'] });
    expectWorks(await me(a, owner.token, '198.51.100.1'));
    expectWorks(await reportingMe(a, key, '198.51.100.1'));
  });

  it("leaves another retailer's tokens and keys alone", async () => {
    const locked = await signedInOwner(a);
    const other = await signedInOwner(a);
    const otherKey = await newReportingKey(a, other.token);
    expectWorks(await putAllowlist(a, locked.token, { enabled: true, cidrs: ['203.0.113.0/24'] }, '203.0.113.7'));
    expectError(await me(a, locked.token, '198.51.100.1'), 403, 'IP_NOT_ALLOWED');
    expectWorks(await me(a, other.token, '198.51.100.1'));
    expectWorks(await reportingMe(a, otherKey, '198.51.100.1'));
    expect((await getAllowlist(a, other.token, '198.51.100.1')).body.data).toEqual({ enabled: false, cidrs: [] });
  });
});

(hasRedis() ? describe : describe.skip)('IP allowlist across instances', () => {
  let proxied: TestInstance;
  let direct: TestInstance;

  beforeAll(async () => {
    // `proxied` believes X-Forwarded-For from loopback; `direct` (no TRUST_PROXY) sees 127.0.0.1.
    proxied = await startInstance({ env: { ...BASE_ENV, TRUST_PROXY: 'loopback' } });
    direct = await startInstance({ env: BASE_ENV });
  });
  afterAll(async () => {
    await direct?.close();
    await proxied?.close();
  });

  it('without TRUST_PROXY, an X-Forwarded-For naming an allowed address from an untrusted peer is 403 IP_NOT_ALLOWED', async () => {
    const owner = await signedInOwner(proxied);
    const key = await newReportingKey(proxied, owner.token);
    expectWorks(await putAllowlist(proxied, owner.token, { enabled: true, cidrs: ['203.0.113.0/24'] }, '203.0.113.7'));
    expectWorks(await me(proxied, owner.token, '203.0.113.7'));

    expectError(await me(direct, owner.token, '203.0.113.7'), 403, 'IP_NOT_ALLOWED');
    expectError(await reportingMe(direct, key, '203.0.113.7'), 403, 'IP_NOT_ALLOWED');
    expectError(await getAllowlist(direct, owner.token, '203.0.113.7'), 403, 'IP_NOT_ALLOWED');
  });

  it('a change on one instance applies on the other within 1 s, even when it had cached the old list', async () => {
    const owner = await signedInOwner(proxied);
    const key = await newReportingKey(proxied, owner.token);
    expectWorks(await putAllowlist(proxied, owner.token, { enabled: true, cidrs: ['127.0.0.1/32', '203.0.113.0/24'] }));
    // `direct` caches the list that lets 127.0.0.1 in, for the token and for the key.
    expectWorks(await me(direct, owner.token));
    expectWorks(await reportingMe(direct, key));

    expectWorks(await putAllowlist(proxied, owner.token, { enabled: true, cidrs: ['203.0.113.0/24'] }, '203.0.113.7'));
    const started = Date.now();
    const token = await pollUntil(() => me(direct, owner.token), isRefused);
    expectError(token, 403, 'IP_NOT_ALLOWED');
    expectError(await pollUntil(() => reportingMe(direct, key), isRefused, Math.max(0, 1000 - (Date.now() - started))), 403, 'IP_NOT_ALLOWED');

    // And back: switched off on one instance, the other lets 127.0.0.1 in again.
    expectWorks(await putAllowlist(proxied, owner.token, { enabled: false, cidrs: [] }, '203.0.113.7'));
    const reopened = Date.now();
    expectWorks(await pollUntil(() => me(direct, owner.token), isOk));
    expectWorks(await pollUntil(() => reportingMe(direct, key), isOk, Math.max(0, 1000 - (Date.now() - reopened))));
  });

  it('each instance uses its own cache and its own TRUST_PROXY, whichever strategy object runs', async () => {
    const owner = await signedInOwner(direct);
    expectWorks(await putAllowlist(direct, owner.token, { enabled: true, cidrs: ['127.0.0.1/32'] }));
    // Same token, same forwarded header, two instances: only the one that believes it refuses.
    expectWorks(await me(direct, owner.token, '198.51.100.1'));
    expectError(await me(proxied, owner.token, '198.51.100.1'), 403, 'IP_NOT_ALLOWED');
    expectWorks(await me(proxied, owner.token));
  });
});
