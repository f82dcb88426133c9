import { getDataSourceToken } from '@nestjs/typeorm';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { login, registerOwner, STRONG_PASSWORD } from '../factories/retailer.factory';
import { startInstance, TestInstance } from '../support/test-app';

describe('GET /audit-logs', () => {
  let instance: TestInstance;
  beforeAll(async () => {
    instance = await startInstance();
  });
  afterAll(() => instance?.close());

  const get = (token: string, query = '') => request(instance.http).get(`/api/v1/audit-logs${query}`).set('Authorization', `Bearer ${token}`);

  it('pages through the retailer rows newest first with a cursor, without gaps or repeats', async () => {
    const owner = await registerOwner(instance);
    for (let i = 0; i < 4; i++) await request(instance.http).post('/api/v1/auth/login').send({ email: owner.email, password: `wrong pass ${i}xx` });
    const s = await login(instance, owner.email);
    const all = (await get(s.token, '?limit=200').expect(200)).body.data.items;
    expect(all.length).toBeGreaterThanOrEqual(6); // registered + 4 failures + success
    const ids = all.map((r: { id: string }) => BigInt(r.id));
    expect([...ids].sort((a, b) => (a > b ? -1 : 1))).toEqual(ids);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Array<{ id: string }>; nextCursor: string | null } = (await get(s.token, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`).expect(200)).body.data;
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.map((r: { id: string }) => r.id));
  });

  it('filters by event, actor and time', async () => {
    const owner = await registerOwner(instance);
    await request(instance.http).post('/api/v1/auth/login').send({ email: owner.email, password: 'wrong pass zz1' });
    const s = await login(instance, owner.email);
    const failures = (await get(s.token, '?event=login_failure').expect(200)).body.data.items;
    expect(failures.length).toBe(1);
    expect(failures[0]).toMatchObject({ event: 'login_failure', actorId: owner.userId, reason: 'INVALID_CREDENTIALS' });
    const byActor = (await get(s.token, `?actorId=${owner.userId}`).expect(200)).body.data.items;
    expect(byActor.every((r: { actorId: string }) => r.actorId === owner.userId)).toBe(true);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await get(s.token, `?from=${future}`).expect(200)).body.data.items).toEqual([]);
    expect((await get(s.token, `?to=${future}`).expect(200)).body.data.items.length).toBeGreaterThan(0);
  });

  it('shows nothing of another retailer', async () => {
    const a = await registerOwner(instance);
    const b = await registerOwner(instance);
    const sb = await login(instance, b.email);
    const items = (await get(sb.token, '?limit=200').expect(200)).body.data.items;
    expect(items.every((r: { retailerId: string }) => r.retailerId === b.retailerId)).toBe(true);
    expect(JSON.stringify(items)).not.toContain(a.userId);
  });

  it('refuses bad filters with VALIDATION_FAILED', async () => {
    const owner = await registerOwner(instance);
    const s = await login(instance, owner.email);
    for (const q of ['?limit=0', '?limit=201', '?limit=abc', '?from=yesterday', '?cursor=%27%3B--', '?cursor=bm9wZQ', '?event=DROP%20TABLE', '?unknown=1']) {
      const res = await get(s.token, q);
      expect({ q, status: res.status, code: res.body.error?.code }).toEqual({ q, status: 400, code: 'VALIDATION_FAILED' });
    }
  });

  it('is for owners and admins only: a viewer gets 403 FORBIDDEN', async () => {
    const owner = await registerOwner(instance);
    const ds = instance.app.get<DataSource>(getDataSourceToken());
    await ds.query(`UPDATE users SET role = 'viewer' WHERE id = $1`, [owner.userId]);
    const s = await login(instance, owner.email, STRONG_PASSWORD);
    const res = await get(s.token).expect(403);
    expect(res.body.error.code).toBe('FORBIDDEN');
  });

  it('needs a token', async () => {
    expect((await request(instance.http).get('/api/v1/audit-logs').expect(401)).body.error.code).toBe('TOKEN_MISSING');
  });
});

describe('revocation without Redis (single instance, the embedded default)', () => {
  it('revokes at once on logout', async () => {
    const instance = await startInstance({ redis: false });
    try {
      const owner = await registerOwner(instance);
      const s = await login(instance, owner.email);
      await request(instance.http).post('/api/v1/auth/logout').set('Authorization', `Bearer ${s.token}`).expect(200);
      const res = await request(instance.http).get('/api/v1/auth/me').set('Authorization', `Bearer ${s.token}`).expect(401);
      expect(res.body.error.code).toBe('TOKEN_REVOKED');
    } finally {
      await instance.close();
    }
  });

  it('remembers revocations across a restart (Postgres is the source of truth)', async () => {
    const first = await startInstance({ redis: false });
    const owner = await registerOwner(first);
    const s = await login(first, owner.email);
    await request(first.http).post('/api/v1/auth/logout').set('Authorization', `Bearer ${s.token}`).expect(200);
    await first.close();
    const second = await startInstance({ redis: false });
    try {
      const res = await request(second.http).get('/api/v1/auth/me').set('Authorization', `Bearer ${s.token}`).expect(401);
      expect(res.body.error.code).toBe('TOKEN_REVOKED');
    } finally {
      await second.close();
    }
  });
});
