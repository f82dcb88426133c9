import { createHash } from 'node:crypto';
import { getDataSourceToken } from '@nestjs/typeorm';
import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { checksumOf, generateApiKey } from '../../apps/api/src/api-key/api-key-format';
import { ApiKeyService } from '../../apps/api/src/api-key/api-key.service';
import { login, registerOwner, RegisteredOwner } from '../factories/retailer.factory';
import { hasRedis, startInstance, TestInstance } from '../support/test-app';
import { expectCodeWithin, expectError, expectWorks } from '../support/expectations';

/**
 * The ApiKey module as a retailer and its integrations see it: creating, listing, rotating and
 * revoking keys over HTTP, and the reporting routes behind ApiKeyAuthGuard, on real instances
 * sharing the run's Postgres and Redis. The database is read or written directly only where
 * HTTP cannot show or set a thing (the stored row, an expiry in the past, a role, a suspension).
 */

const BASE_ENV = { RATE_LIMIT_REGISTER_IP: '1000/1h', RATE_LIMIT_LOGIN_IP: '1000/15m' };
const DAY_MS = 86_400_000;
const KEY_FORMAT = /^rk_live_r_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}_[0-9A-Za-z]{6}$/;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Owner extends RegisteredOwner {
  token: string;
}

async function signedInOwner(instance: TestInstance): Promise<Owner> {
  const owner = await registerOwner(instance);
  return { ...owner, token: (await login(instance, owner.email)).token };
}

function createKey(instance: TestInstance, token: string, body: Record<string, unknown>): Promise<Response> {
  return request(instance.http).post('/api/v1/api-keys').set('Authorization', `Bearer ${token}`).send(body);
}

/** A reporting key with the given settings; fails the test if creation is refused. */
async function newKey(instance: TestInstance, owner: Owner, body: Record<string, unknown> = {}): Promise<{ id: string; key: string; prefix: string; body: any }> {
  const res = await createKey(instance, owner.token, { name: 'BI export', type: 'reporting', scopes: ['reporting:read', 'audit_logs:read'], ...body });
  expect({ status: res.status, error: res.body?.error }).toEqual({ status: 201, error: undefined });
  return { id: res.body.data.id, key: res.body.data.key, prefix: res.body.data.prefix, body: res.body.data };
}

function listKeys(instance: TestInstance, token: string): Promise<Response> {
  return request(instance.http).get('/api/v1/api-keys').set('Authorization', `Bearer ${token}`);
}

function rotateKey(instance: TestInstance, token: string, id: string): Promise<Response> {
  return request(instance.http).post(`/api/v1/api-keys/${id}/rotate`).set('Authorization', `Bearer ${token}`).send({});
}

function deleteKey(instance: TestInstance, token: string, id: string): Promise<Response> {
  return request(instance.http).delete(`/api/v1/api-keys/${id}`).set('Authorization', `Bearer ${token}`);
}

function reportingMe(instance: TestInstance, key: string, via: 'bearer' | 'x-api-key' = 'bearer'): Promise<Response> {
  const req = request(instance.http).get('/api/v1/reporting/me');
  return via === 'bearer' ? req.set('Authorization', `Bearer ${key}`) : req.set('X-API-Key', key);
}

function reportingAuditLogs(instance: TestInstance, key: string, query: Record<string, string | number> = {}): Promise<Response> {
  return request(instance.http).get('/api/v1/reporting/audit-logs').query(query).set('X-API-Key', key);
}

async function auditRows(instance: TestInstance, token: string, event: string): Promise<any[]> {
  const res = await request(instance.http).get('/api/v1/audit-logs').query({ event, limit: 200 }).set('Authorization', `Bearer ${token}`);
  expect(res.status).toBe(200);
  return res.body.data.items;
}


const sha256Hex = (value: string) => createHash('sha256').update(value).digest('hex');

describe('API keys (one instance)', () => {
  let a: TestInstance;
  let db: DataSource;
  let owner: Owner;

  beforeAll(async () => {
    a = await startInstance({ env: BASE_ENV });
    db = a.app.get<DataSource>(getDataSourceToken());
    owner = await signedInOwner(a);
  });
  afterAll(() => a?.close());

  describe('POST /api-keys and GET /api-keys', () => {
    it('returns the key once, in a recognisable format; listings never show it and the row holds only a hash', async () => {
      const created = await newKey(a, owner, { name: 'Nightly export' });
      expect(created.key).toMatch(KEY_FORMAT);
      expect(created.key.startsWith(`${created.prefix}_`)).toBe(true);
      expect(created.body).toMatchObject({
        id: expect.any(String),
        name: 'Nightly export',
        type: 'reporting',
        prefix: created.prefix,
        scopes: ['reporting:read', 'audit_logs:read'],
        allowedIps: [],
        lastUsedAt: null,
      });
      expect(created.body.keyHash).toBeUndefined();

      const list = await listKeys(a, owner.token);
      expectWorks(list);
      const listed = list.body.data.find((k: any) => k.id === created.id);
      expect(listed).toMatchObject({ id: created.id, prefix: created.prefix, scopes: ['reporting:read', 'audit_logs:read'], lastUsedAt: null });
      expect(listed.key).toBeUndefined();
      expect(JSON.stringify(list.body)).not.toContain(created.key);
      const secret = created.key.split('_')[4];
      expect(JSON.stringify(list.body)).not.toContain(secret);

      const [row] = await db.query(`SELECT * FROM api_keys WHERE id = $1`, [created.id]);
      expect(JSON.stringify(row)).not.toContain(secret);
      expect(row.key_hash).toBe(sha256Hex(secret));
      expect(row.created_by_user_id).toBe(owner.userId);

      const audit = (await auditRows(a, owner.token, 'api_key_created')).filter((r) => r.metadata?.keyId === created.id);
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ actorType: 'user', actorId: owner.userId, retailerId: owner.retailerId, status: 'success' });
      expect(JSON.stringify(audit)).not.toContain(secret);
    });

    it('expires keys after 90 days by default, or after expiresInDays', async () => {
      const byDefault = await newKey(a, owner);
      const expiresIn = new Date(byDefault.body.expiresAt).getTime() - Date.now();
      expect(Math.abs(expiresIn - 90 * DAY_MS)).toBeLessThan(60_000);
      const short = await newKey(a, owner, { expiresInDays: 7 });
      expect(Math.abs(new Date(short.body.expiresAt).getTime() - Date.now() - 7 * DAY_MS)).toBeLessThan(60_000);
    });

    it('refuses scopes of another type, unknown scopes and malformed CIDRs with 400 VALIDATION_FAILED naming each field', async () => {
      let res = await createKey(a, owner.token, { name: 'x', type: 'reporting', scopes: ['reactivate:marketing'] });
      expectError(res, 400, 'VALIDATION_FAILED');
      expect(res.body.error.details.map((d: any) => d.field)).toEqual(['scopes']);

      res = await createKey(a, owner.token, { name: 'x', type: 'reactivate', scopes: ['reporting:read'] });
      expectError(res, 400, 'VALIDATION_FAILED');

      res = await createKey(a, owner.token, { name: 'x', type: 'reporting', scopes: ['admin:*'] });
      expectError(res, 400, 'VALIDATION_FAILED');

      res = await createKey(a, owner.token, {
        name: 'x',
        type: 'reporting',
        scopes: ['reporting:read'],
        allowedIps: ['10.0.0.0/8', '10.0.0.0/33', 'not-an-ip', '300.1.1.1', '::1/129', '10.0.0/8'],
      });
      expectError(res, 400, 'VALIDATION_FAILED');
      expect(res.body.error.details.map((d: any) => d.field)).toEqual(['allowedIps[1]', 'allowedIps[2]', 'allowedIps[3]', 'allowedIps[4]', 'allowedIps[5]']);

      for (const body of [
        { name: 'x', type: 'admin', scopes: ['reporting:read'] },
        { name: 'x', type: 'reporting', scopes: [] },
        { name: 'x', type: 'reporting', scopes: ['reporting:read'], expiresInDays: 0 },
        { name: 'x', type: 'reporting', scopes: ['reporting:read'], keyHash: 'mine' },
        { type: 'reporting', scopes: ['reporting:read'] },
      ]) {
        expectError(await createKey(a, owner.token, body), 400, 'VALIDATION_FAILED');
      }
      // Nothing was created by any refused request.
      const [{ count }] = await db.query(`SELECT count(*)::int AS count FROM api_keys WHERE retailer_id = $1 AND name = 'x'`, [owner.retailerId]);
      expect(count).toBe(0);
    });

    it('shows lastUsedAt within a couple of seconds of the first use', async () => {
      const created = await newKey(a, owner);
      expectWorks(await reportingMe(a, created.key));
      const deadline = Date.now() + 2000;
      let listed: any;
      do {
        listed = (await listKeys(a, owner.token)).body.data.find((k: any) => k.id === created.id);
        if (listed.lastUsedAt) break;
        await sleep(50);
      } while (Date.now() < deadline);
      expect(listed.lastUsedAt).not.toBeNull();
      expect(Math.abs(new Date(listed.lastUsedAt).getTime() - Date.now())).toBeLessThan(5000);
    });
  });

  describe('GET /reporting/me and /reporting/audit-logs', () => {
    it('accepts the key as Authorization: Bearer or X-API-Key', async () => {
      const created = await newKey(a, owner);
      for (const via of ['bearer', 'x-api-key'] as const) {
        const res = await reportingMe(a, created.key, via);
        expectWorks(res);
        expect(res.body.data).toEqual({ retailerId: owner.retailerId, keyId: created.id, scopes: ['reporting:read', 'audit_logs:read'] });
      }
    });

    it('refuses a key in the query string (401 TOKEN_MISSING)', async () => {
      const created = await newKey(a, owner);
      for (const name of ['api_key', 'apiKey', 'key', 'access_token', 'token']) {
        expectError(await request(a.http).get('/api/v1/reporting/me').query({ [name]: created.key }), 401, 'TOKEN_MISSING');
      }
    });

    it('refuses malformed keys, a bad checksum, an unknown key, a wrong secret and a JWT with 401 TOKEN_INVALID', async () => {
      const created = await newKey(a, owner);
      const last = created.key.slice(-1);
      const badChecksum = created.key.slice(0, -1) + (last === 'a' ? 'b' : 'a');
      const unknown = generateApiKey('reporting').key; // well-formed, valid checksum, never stored
      // The stored prefix with another secret (and a checksum that matches it).
      const forged = `${created.prefix}_${generateApiKey('reporting').key.split('_')[4]}`;
      const forgedKey = `${forged}_${checksumOf(forged)}`;
      for (const key of ['not-a-key', created.key.slice(0, -3), badChecksum, unknown, forgedKey, owner.token, created.key.replace('rk_live_r_', 'rk_live_m_')]) {
        for (const via of ['bearer', 'x-api-key'] as const) {
          expectError(await reportingMe(a, key, via), 401, 'TOKEN_INVALID');
        }
      }
      // Two different credentials at once are refused, not guessed between.
      const both = await request(a.http).get('/api/v1/reporting/me').set('Authorization', `Bearer ${owner.token}`).set('X-API-Key', created.key);
      expectError(both, 401, 'TOKEN_INVALID');
      expectError(await request(a.http).get('/api/v1/reporting/me'), 401, 'TOKEN_MISSING');
    });

    it('refuses a reactivate key at the reporting routes (a guard accepts only its own type)', async () => {
      const res = await createKey(a, owner.token, { name: 'Reactivate', type: 'reactivate', scopes: ['reactivate:marketing'] });
      expect(res.status).toBe(201);
      expect(res.body.data.key).toMatch(/^rk_live_m_/);
      expectError(await reportingMe(a, res.body.data.key), 401, 'TOKEN_INVALID');
    });

    it('answers 403 FORBIDDEN to a key without the route scope, and the retailer\'s own audit log to one with it', async () => {
      const narrow = await newKey(a, owner, { scopes: ['reporting:read'] });
      expectError(await reportingAuditLogs(a, narrow.key), 403, 'FORBIDDEN');
      expectWorks(await reportingMe(a, narrow.key));

      const wide = await newKey(a, owner, { scopes: ['audit_logs:read'] });
      const res = await reportingAuditLogs(a, wide.key, { event: 'api_key_created', limit: 200 });
      expectWorks(res);
      expect(res.body.data.items.map((r: any) => r.metadata.keyId)).toEqual(expect.arrayContaining([narrow.id, wide.id]));
      expect(res.body.data.items.every((r: any) => r.retailerId === owner.retailerId)).toBe(true);
      expect(res.body.data).toHaveProperty('nextCursor');
      expectError(await reportingAuditLogs(a, wide.key, { limit: 0 }), 400, 'VALIDATION_FAILED');
    });

    it('refuses an expired key with 401 TOKEN_EXPIRED', async () => {
      const created = await newKey(a, owner);
      await db.query(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [created.id]);
      expectError(await reportingMe(a, created.key), 401, 'TOKEN_EXPIRED');
    });

    it('judges a recently seen key without Postgres (the in-process cache)', async () => {
      const created = await newKey(a, owner);
      expectWorks(await reportingMe(a, created.key));
      // A change made behind the service's back is not seen while the key is cached...
      await db.query(`UPDATE api_keys SET key_hash = 'changed-behind-the-back' WHERE id = $1`, [created.id]);
      expectWorks(await reportingMe(a, created.key));
      // ...while an instance that never saw the key reads the row.
      const fresh = await startInstance({ env: BASE_ENV });
      try {
        expectError(await reportingMe(fresh, created.key), 401, 'TOKEN_INVALID');
      } finally {
        await fresh.close();
      }
    });
  });

  describe('IP allowlists', () => {
    it('answers 403 IP_NOT_ALLOWED outside the key\'s allowlist and works inside it (IPv4-mapped entries normalised)', async () => {
      const outside = await newKey(a, owner, { allowedIps: ['10.0.0.0/8'] });
      expectError(await reportingMe(a, outside.key), 403, 'IP_NOT_ALLOWED');

      const exact = await newKey(a, owner, { allowedIps: ['127.0.0.1/32'] });
      expectWorks(await reportingMe(a, exact.key));

      const mapped = await newKey(a, owner, { allowedIps: ['::ffff:127.0.0.1'] });
      expect(mapped.body.allowedIps).toEqual(['127.0.0.1/32']);
      expectWorks(await reportingMe(a, mapped.key));
    });

    it('ignores X-Forwarded-For from an untrusted peer', async () => {
      const created = await newKey(a, owner, { allowedIps: ['10.0.0.0/8'] });
      const res = await request(a.http).get('/api/v1/reporting/me').set('X-API-Key', created.key).set('X-Forwarded-For', '10.1.2.3');
      expectError(res, 403, 'IP_NOT_ALLOWED');
    });

    it('honours X-Forwarded-For only when TRUST_PROXY trusts the hop', async () => {
      const behindProxy = await startInstance({ env: { ...BASE_ENV, TRUST_PROXY: 'loopback' } });
      try {
        const created = await newKey(a, owner, { allowedIps: ['10.0.0.0/8'] });
        const res = await request(behindProxy.http).get('/api/v1/reporting/me').set('X-API-Key', created.key).set('X-Forwarded-For', '10.1.2.3');
        expectWorks(res);
      } finally {
        await behindProxy.close();
      }
    });
  });

  describe('permissions and tenant isolation', () => {
    it('refuses key management to a viewer (403 FORBIDDEN)', async () => {
      const viewer = await registerOwner(a);
      const existing = await newKey(a, { ...viewer, token: (await login(a, viewer.email)).token });
      await db.query(`UPDATE users SET role = 'viewer' WHERE id = $1`, [viewer.userId]);
      const token = (await login(a, viewer.email)).token;
      expectError(await createKey(a, token, { name: 'x', type: 'reporting', scopes: ['reporting:read'] }), 403, 'FORBIDDEN');
      expectError(await listKeys(a, token), 403, 'FORBIDDEN');
      expectError(await rotateKey(a, token, existing.id), 403, 'FORBIDDEN');
      expectError(await deleteKey(a, token, existing.id), 403, 'FORBIDDEN');
      expectWorks(await reportingMe(a, existing.key));
    });

    it('shows nothing of one retailer to another and lets it change nothing (404 NOT_FOUND)', async () => {
      const mine = await newKey(a, owner);
      const other = await signedInOwner(a);
      const theirs = await newKey(a, other);

      const list = await listKeys(a, other.token);
      expectWorks(list);
      expect(list.body.data.map((k: any) => k.id)).toEqual([theirs.id]);

      expectError(await rotateKey(a, other.token, mine.id), 404, 'NOT_FOUND');
      expectError(await deleteKey(a, other.token, mine.id), 404, 'NOT_FOUND');
      expectWorks(await reportingMe(a, mine.key));
      expect((await listKeys(a, owner.token)).body.data.find((k: any) => k.id === mine.id)).toMatchObject({ replacedById: null, graceUntil: null });

      // The other retailer's key reads its own retailer's audit log only.
      const logs = await reportingAuditLogs(a, theirs.key, { limit: 200 });
      expectWorks(logs);
      expect(logs.body.data.items.length).toBeGreaterThan(0);
      expect(logs.body.data.items.every((r: any) => r.retailerId === other.retailerId)).toBe(true);
      expect((await reportingMe(a, theirs.key)).body.data.retailerId).toBe(other.retailerId);
    });
  });

  describe('DELETE /api-keys/:id', () => {
    it('refuses the key at once with 401 TOKEN_REVOKED, drops it from the listing and writes the audit row', async () => {
      const created = await newKey(a, owner);
      expectWorks(await reportingMe(a, created.key));
      const res = await deleteKey(a, owner.token, created.id);
      expectWorks(res);
      expect(res.body.data).toEqual({ revoked: true });
      expectError(await reportingMe(a, created.key), 401, 'TOKEN_REVOKED');
      expect((await listKeys(a, owner.token)).body.data.map((k: any) => k.id)).not.toContain(created.id);
      expectError(await deleteKey(a, owner.token, created.id), 404, 'NOT_FOUND');
      expectError(await rotateKey(a, owner.token, created.id), 404, 'NOT_FOUND');
      const audit = (await auditRows(a, owner.token, 'api_key_revoked')).filter((r) => r.metadata?.keyId === created.id);
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ actorType: 'user', actorId: owner.userId, retailerId: owner.retailerId });
    });
  });

});

describe('API keys: rotation grace (API_KEY_ROTATION_GRACE=1s)', () => {
  let a: TestInstance;
  let owner: Owner;

  beforeAll(async () => {
    a = await startInstance({ env: { ...BASE_ENV, API_KEY_ROTATION_GRACE: '1s' } });
    owner = await signedInOwner(a);
  });
  afterAll(() => a?.close());

  it('returns a new key; the old one works during the grace, then is TOKEN_REVOKED; the new one works', async () => {
    const old = await newKey(a, owner, { allowedIps: ['127.0.0.0/8'], expiresInDays: 30 });
    expectWorks(await reportingMe(a, old.key)); // cached before the rotation

    const res = await rotateKey(a, owner.token, old.id);
    expect(res.status).toBe(201);
    const next = res.body.data;
    expect(next.key).toMatch(KEY_FORMAT);
    expect(next.key).not.toBe(old.key);
    expect(next.id).not.toBe(old.id);
    expect(next).toMatchObject({ name: old.body.name, scopes: old.body.scopes, allowedIps: ['127.0.0.0/8'], replaces: { id: old.id } });
    expect(Math.abs(new Date(next.expiresAt).getTime() - Date.now() - 30 * DAY_MS)).toBeLessThan(60_000);

    expectWorks(await reportingMe(a, old.key));
    const newMe = await reportingMe(a, next.key);
    expectWorks(newMe);
    expect(newMe.body.data.keyId).toBe(next.id);

    // Listed with its grace deadline; rotating it again is a conflict (rotate the successor).
    const listed = (await listKeys(a, owner.token)).body.data.find((k: any) => k.id === old.id);
    expect(listed).toMatchObject({ replacedById: next.id, graceUntil: expect.any(String) });
    expectError(await rotateKey(a, owner.token, old.id), 409, 'CONFLICT');

    await sleep(1200);
    expectError(await reportingMe(a, old.key), 401, 'TOKEN_REVOKED');
    expectWorks(await reportingMe(a, next.key));
    expect((await listKeys(a, owner.token)).body.data.map((k: any) => k.id)).not.toContain(old.id);

    const audit = (await auditRows(a, owner.token, 'api_key_rotated')).filter((r) => r.metadata?.keyId === old.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actorType: 'user', actorId: owner.userId, metadata: { newKeyId: next.id } });
  });

  it('revoking the new key during the grace revokes the old one too', async () => {
    const old = await newKey(a, owner);
    const next = (await rotateKey(a, owner.token, old.id)).body.data;
    expectWorks(await reportingMe(a, old.key));
    expectWorks(await deleteKey(a, owner.token, next.id));
    expectError(await reportingMe(a, next.key), 401, 'TOKEN_REVOKED');
    expectError(await reportingMe(a, old.key), 401, 'TOKEN_REVOKED');
  });
});

// Two instances only share invalidations through Redis (without it they converge at the cache TTL).
const describeTwoInstances = hasRedis() ? describe : describe.skip; // reason: no Redis reachable in this run

describeTwoInstances('API keys across two instances', () => {
  let a: TestInstance;
  let b: TestInstance;
  let db: DataSource;
  let owner: Owner;

  beforeAll(async () => {
    a = await startInstance({ env: BASE_ENV });
    b = await startInstance({ env: BASE_ENV });
    db = a.app.get<DataSource>(getDataSourceToken());
    owner = await signedInOwner(a);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('a key revoked on instance A is refused on instance B within 1 s, though B had it cached', async () => {
    const created = await newKey(a, owner);
    expectWorks(await reportingMe(b, created.key));
    expectWorks(await reportingMe(b, created.key));
    expectWorks(await deleteKey(a, owner.token, created.id));
    await expectCodeWithin(() => reportingMe(b, created.key), 401, 'TOKEN_REVOKED');
  });

  it('a rotation on A tells B the old key\'s grace deadline', async () => {
    const old = await newKey(a, owner);
    expectWorks(await reportingMe(b, old.key));
    // A zero-length grace (the row's deadline pulled into the past) after the rotation shows B re-read the row.
    const rotated = await rotateKey(a, owner.token, old.id);
    expect(rotated.status).toBe(201);
    await db.query(`UPDATE api_keys SET grace_until = now() - interval '1 second' WHERE id = $1`, [old.id]);
    // B dropped its entry on the rotation message; its next read sees the deadline.
    await expectCodeWithin(() => reportingMe(b, old.key), 401, 'TOKEN_REVOKED');
    expectWorks(await reportingMe(b, rotated.body.data.key));
  });

  it('refuses every key of a suspended retailer on every instance, and accepts them again after unsuspension', async () => {
    const created = await newKey(a, owner);
    expectWorks(await reportingMe(a, created.key));
    expectWorks(await reportingMe(b, created.key));

    // The admin module's suspension writes the row, then drops the cached keys everywhere.
    await db.query(`UPDATE retailers SET status = 'suspended', suspended_at = now() WHERE id = $1`, [owner.retailerId]);
    await a.app.get(ApiKeyService).invalidateRetailer(owner.retailerId);
    await expectCodeWithin(() => reportingMe(a, created.key), 401, 'TOKEN_REVOKED');
    await expectCodeWithin(() => reportingMe(b, created.key), 401, 'TOKEN_REVOKED');

    await db.query(`UPDATE retailers SET status = 'active', suspended_at = NULL WHERE id = $1`, [owner.retailerId]);
    await a.app.get(ApiKeyService).invalidateRetailer(owner.retailerId);
    const deadline = Date.now() + 1000;
    let res = await reportingMe(b, created.key);
    while (res.status !== 200 && Date.now() < deadline) {
      await sleep(50);
      res = await reportingMe(b, created.key);
    }
    expectWorks(res);
    expectWorks(await reportingMe(a, created.key));
  });
});
