import { getDataSourceToken } from '@nestjs/typeorm';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { sha256Hex } from '@app/common/crypto';
import { login, registerOwner } from '../factories/retailer.factory';
import { expectError } from '../support/expectations';
import { isolatedLimits, startInstance, TestInstance } from '../support/test-app';

/**
 * The public routes that take or create one-time codes without an email to lock: the portal
 * exchange and the Shopify install. Per-address limits bound floods (the codes themselves are
 * 256-bit random); a refused request writes nothing.
 */
describe('per-address limits of the portal exchange and the Shopify install', () => {
  let instance: TestInstance;
  beforeAll(async () => {
    instance = await startInstance({
      env: isolatedLimits({
        RATE_LIMIT_REGISTER_IP: '1000/1h',
        RATE_LIMIT_LOGIN_IP: '1000/15m',
        RATE_LIMIT_PORTAL_EXCHANGE_IP: '2/1m',
        RATE_LIMIT_OAUTH_INSTALL_IP: '2/1m',
        SHOPIFY_API_KEY: 'limit-test-key',
        SHOPIFY_API_SECRET: 'limit-test-secret-0123456789abcdef',
      }),
    });
  });
  afterAll(() => instance?.close());
  const db = () => instance.app.get<DataSource>(getDataSourceToken());

  function expectRetryAfter(res: request.Response): void {
    expectError(res, 429, 'TOO_MANY_ATTEMPTS');
    const seconds = Number(res.headers['retry-after']);
    expect(seconds).toBeGreaterThanOrEqual(1);
    expect(seconds).toBeLessThanOrEqual(60);
  }

  it('answers the third portal exchange from one address with 429 and Retry-After, even for a valid code', async () => {
    const owner = await registerOwner(instance);
    const { token } = await login(instance, owner.email);
    const codes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await request(instance.http).post('/api/v1/portal/sso/handoff').set('Authorization', `Bearer ${token}`);
      codes.push(res.body.data.code as string);
    }
    expect((await request(instance.http).post('/api/v1/portal/sso/exchange').send({ code: codes[0] })).status).toBe(200);
    expectError(await request(instance.http).post('/api/v1/portal/sso/exchange').send({ code: 'not-a-code' }), 401, 'TOKEN_INVALID');
    expectRetryAfter(await request(instance.http).post('/api/v1/portal/sso/exchange').send({ code: codes[1] }));
    // The refused request did not spend the code: it is still unused.
    const [row] = (await db().query(`SELECT used_at FROM one_time_tokens WHERE token_hash = $1`, [sha256Hex(codes[1])])) as Array<{ used_at: Date | null }>;
    expect(row).toEqual({ used_at: null });
  });

  it('answers the third Shopify install from one address with 429 and stores no state for it', async () => {
    const install = () => request(instance.http).get('/api/v1/oauth/shopify/install').query({ shop: 'limits-test.myshopify.com' });
    expect((await install()).status).toBe(302);
    expect((await install()).status).toBe(302);
    const count = async () => Number(((await db().query(`SELECT count(*)::int AS n FROM one_time_tokens WHERE purpose = 'oauth_state'`)) as Array<{ n: number }>)[0].n);
    const before = await count();
    expectRetryAfter(await install());
    expect(await count()).toBe(before);
  });
});
