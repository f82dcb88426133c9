import request from 'supertest';
import { login, registerOwner } from '../factories/retailer.factory';
import { startInstance, TestInstance } from '../support/test-app';

/** GET /reactivate/marketing/me takes reactivate keys only; reporting routes refuse them. */
describe('reactivate keys', () => {
  let instance: TestInstance;
  let token: string;
  let retailerId: string;
  let reactivateKey: { id: string; key: string };
  let reportingKey: { id: string; key: string };

  beforeAll(async () => {
    instance = await startInstance();
    const owner = await registerOwner(instance);
    retailerId = owner.retailerId;
    token = (await login(instance, owner.email)).token;
    const create = (body: object) => request(instance.http).post('/api/v1/api-keys').set('Authorization', `Bearer ${token}`).send(body).expect(201);
    reactivateKey = (await create({ name: 'marketing', type: 'reactivate', scopes: ['reactivate:marketing'] })).body.data;
    reportingKey = (await create({ name: 'reports', type: 'reporting', scopes: ['reporting:read'] })).body.data;
  });
  afterAll(() => instance?.close());

  const marketing = () => request(instance.http).get('/api/v1/reactivate/marketing/me');

  it('accepts a reactivate key in X-API-Key or as Bearer', async () => {
    for (const res of [await marketing().set('X-API-Key', reactivateKey.key), await marketing().set('Authorization', `Bearer ${reactivateKey.key}`)]) {
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({ retailerId, keyId: reactivateKey.id });
    }
  });

  it('refuses a reporting key and a retailer JWT with 401 TOKEN_INVALID, and no key with TOKEN_MISSING', async () => {
    expect((await marketing().set('X-API-Key', reportingKey.key).expect(401)).body.error.code).toBe('TOKEN_INVALID');
    expect((await marketing().set('Authorization', `Bearer ${token}`).expect(401)).body.error.code).toBe('TOKEN_INVALID');
    expect((await marketing().expect(401)).body.error.code).toBe('TOKEN_MISSING');
    expect((await request(instance.http).get(`/api/v1/reactivate/marketing/me?api_key=${reactivateKey.key}`).expect(401)).body.error.code).toBe('TOKEN_MISSING');
  });

  it('refuses a reactivate key at the reporting API', async () => {
    const res = await request(instance.http).get('/api/v1/reporting/me').set('X-API-Key', reactivateKey.key).expect(401);
    expect(res.body.error.code).toBe('TOKEN_INVALID');
  });

  it('refuses a reactivate key once it is revoked', async () => {
    await request(instance.http).delete(`/api/v1/api-keys/${reactivateKey.id}`).set('Authorization', `Bearer ${token}`).expect(200);
    expect((await marketing().set('X-API-Key', reactivateKey.key).expect(401)).body.error.code).toBe('TOKEN_REVOKED');
  });
});
