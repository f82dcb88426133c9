import request from 'supertest';
import { cookieValue, login, registerOwner, STRONG_PASSWORD } from '../factories/retailer.factory';
import { expectError, expectWorks } from '../support/expectations';
import { startInstance, TestInstance } from '../support/test-app';

/**
 * The guards reuse a token's earlier verification (VerifiedTokenCache); none of the checks a
 * user relies on may be skipped by that: expiry, revocation, CSRF, the exact signature.
 */
describe('tokens seen before', () => {
  let instance: TestInstance;
  beforeAll(async () => {
    instance = await startInstance({ env: { ACCESS_TOKEN_TTL: '2s', RATE_LIMIT_REGISTER_IP: '1000/1h', RATE_LIMIT_LOGIN_IP: '1000/15m' } });
  });
  afterAll(() => instance?.close());

  const me = (token: string) => request(instance.http).get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`);

  it('expire at their exp although they were accepted a moment before', async () => {
    const owner = await registerOwner(instance);
    const { token } = await login(instance, owner.email);
    expectWorks(await me(token));
    expectWorks(await me(token));
    const exp = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp as number;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, exp * 1000 - Date.now()) + 50));
    expectError(await me(token), 401, 'TOKEN_EXPIRED');
  });

  it('are revoked at once, and a changed signature on the same claims is not the same token', async () => {
    const owner = await registerOwner(instance);
    const { token } = await login(instance, owner.email);
    expectWorks(await me(token));
    const [header, payload, signature] = token.split('.');
    const flipped = `${header}.${payload}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    expectError(await me(flipped), 401, 'TOKEN_INVALID');
    await request(instance.http).post('/api/v1/auth/logout').set('Authorization', `Bearer ${token}`).expect(200);
    expectError(await me(token), 401, 'TOKEN_REVOKED');
  });

  it('still need the CSRF header when they come from the cookie', async () => {
    const owner = await registerOwner(instance);
    const res = await request(instance.http).post('/api/v1/auth/login').send({ email: owner.email, password: STRONG_PASSWORD }).expect(200);
    const cookies = res.headers['set-cookie'] as unknown as string[];
    const access = cookieValue(cookies, 'retailer_access_token')!;
    const csrf = cookieValue(cookies, 'csrf_token')!;
    const cookie = `retailer_access_token=${access}; csrf_token=${csrf}`;
    expectWorks(await request(instance.http).get('/api/v1/auth/me').set('Cookie', cookie));
    expectError(await request(instance.http).post('/api/v1/auth/logout').set('Cookie', cookie), 403, 'CSRF_FAILED');
    expectWorks(await request(instance.http).post('/api/v1/auth/logout').set('Cookie', cookie).set('X-CSRF-Token', csrf));
  });
});
