import request from 'supertest';
import { hostPort } from '../support/services';
import { ProbeModule } from '../support/probe.module';
import { TcpProxy } from '../support/tcp-proxy';
import { RedisService } from '@app/common/redis';
import { login, registerOwner } from '../factories/retailer.factory';
import { expectCodeWithin, expectWorks } from '../support/expectations';
import { hasRedis, startInstance, TestInstance } from '../support/test-app';

async function eventually(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met in time');
}

describe('health, docs and metrics', () => {
  let instance: TestInstance;
  beforeAll(async () => {
    instance = await startInstance({ imports: [ProbeModule] });
  });
  afterAll(() => instance?.close());

  it('reports ready with the database, and Redis when configured', async () => {
    const res = await request(instance.http).get('/api/v1/health/ready').expect(200);
    expect(res.body).toEqual({
      success: true,
      data: { status: 'ok', checks: { database: 'up', redis: hasRedis() ? 'up' : 'disabled' } },
    });
  });

  it('serves the OpenAPI document and the Swagger UI', async () => {
    const doc = await request(instance.http).get('/api/v1/docs-json').expect(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/api/v1/health/live', '/api/v1/health/ready', '/api/v1/metrics']));
    expect(doc.body.components.securitySchemes).toHaveProperty('retailer');
    const ui = await request(instance.http).get('/api/v1/docs').redirects(1).expect(200);
    expect(ui.text).toContain('swagger');
  });

  it('exposes request counts and latency histograms by route and status, and auth failures by code', async () => {
    await request(instance.http).get('/api/v1/health/live').expect(200);
    await request(instance.http).get('/api/v1/probe/forgotten').expect(403);
    await request(instance.http).get('/api/v1/no-such-thing/123').expect(404);
    const res = await request(instance.http).get('/api/v1/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/http_requests_total\{method="GET",route="\/api\/v1\/health\/live",status="200"\} \d+/);
    expect(res.text).toMatch(/http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/api\/v1\/health\/live",status="200"\}/);
    expect(res.text).toMatch(/http_requests_total\{method="GET",route="unmatched",status="404"\}/);
    expect(res.text).not.toContain('/no-such-thing/123');
    expect(res.text).toMatch(/auth_failures_total\{code="FORBIDDEN"\} \d+/);
  });

  it('protects metrics with METRICS_TOKEN when one is set', async () => {
    const guarded = await startInstance({ env: { METRICS_TOKEN: 'scrape-token-123' } });
    try {
      expect((await request(guarded.http).get('/api/v1/metrics').expect(401)).body.error.code).toBe('TOKEN_MISSING');
      expect((await request(guarded.http).get('/api/v1/metrics').set('Authorization', 'Bearer nope').expect(401)).body.error.code).toBe('TOKEN_INVALID');
      await request(guarded.http).get('/api/v1/metrics').set('Authorization', 'Bearer scrape-token-123').expect(200);
    } finally {
      await guarded.close();
    }
  });
});

describe('a database that goes away', () => {
  it('answers 503 SERVICE_UNAVAILABLE rather than hanging, and recovers when it returns', async () => {
    const target = hostPort(process.env.E2E_DATABASE_URL!, 5432);
    const proxy = new TcpProxy(target.host, target.port);
    await proxy.start();
    const url = new URL(process.env.E2E_DATABASE_URL!);
    url.port = String(proxy.port);
    url.hostname = '127.0.0.1';
    const instance = await startInstance({
      imports: [ProbeModule],
      env: { DATABASE_URL: url.toString(), DATABASE_CONNECT_TIMEOUT: '1s' },
    });
    try {
      await request(instance.http).get('/api/v1/probe/db').expect(200);
      await proxy.stop();

      const started = Date.now();
      const ready = await request(instance.http).get('/api/v1/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', details: [{ field: 'database' }] });
      const query = await request(instance.http).get('/api/v1/probe/db');
      expect(query.status).toBe(503);
      expect(query.body.error.code).toBe('SERVICE_UNAVAILABLE');
      expect(query.headers['retry-after']).toBeDefined();
      expect(Date.now() - started).toBeLessThan(10_000);
      await request(instance.http).get('/api/v1/health/live').expect(200); // the process itself is fine

      await proxy.start();
      await eventually(async () => (await request(instance.http).get('/api/v1/health/ready')).status === 200);
      await request(instance.http).get('/api/v1/probe/db').expect(200);
    } finally {
      await instance.close();
      await proxy.stop();
    }
  });
});

const describeRedis = hasRedis() ? describe : describe.skip; // reason: no Redis reachable in this run
describeRedis('a Redis that goes away', () => {
  it('makes readiness 503 naming redis, and recovers by itself', async () => {
    const target = hostPort(process.env.E2E_REDIS_URL!, 6379);
    const proxy = new TcpProxy(target.host, target.port);
    await proxy.start();
    const instance = await startInstance({ env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}` } });
    try {
      await request(instance.http).get('/api/v1/health/ready').expect(200);
      await proxy.stop();
      const down = await request(instance.http).get('/api/v1/health/ready');
      expect(down.status).toBe(503);
      expect(down.body.error.details).toEqual([{ field: 'redis', message: expect.any(String) }]);
      await proxy.start();
      await eventually(async () => (await request(instance.http).get('/api/v1/health/ready')).status === 200);
    } finally {
      await instance.close();
      await proxy.stop();
    }
  });

  it('hears revocations from other instances again once Redis is back (the subscription is renewed)', async () => {
    const target = hostPort(process.env.E2E_REDIS_URL!, 6379);
    const proxy = new TcpProxy(target.host, target.port);
    await proxy.start();
    const env = { RATE_LIMIT_REGISTER_IP: '1000/1h', RATE_LIMIT_LOGIN_IP: '1000/15m' };
    const behindProxy = await startInstance({ env: { ...env, REDIS_URL: `redis://127.0.0.1:${proxy.port}` } });
    const other = await startInstance({ env });
    try {
      const owner = await registerOwner(other);
      const session = await login(other, owner.email);
      const me = () => request(behindProxy.http).get('/api/v1/auth/me').set('Authorization', `Bearer ${session.token}`);
      expectWorks(await me());

      await proxy.stop();
      await proxy.start();
      await eventually(async () => (await request(behindProxy.http).get('/api/v1/health/ready')).status === 200);
      // Redis dropped the old subscription with the connection; wait until the renewed one is in.
      const redis = other.app.get(RedisService);
      const channel = redis.channelName('revocations');
      await eventually(async () => {
        const [, subscribers] = (await redis.client!.pubsub('NUMSUB', channel)) as [string, number];
        return subscribers === 2;
      });

      await request(other.http).post('/api/v1/auth/logout').set('Authorization', `Bearer ${session.token}`).expect(200);
      await expectCodeWithin(me, 401, 'TOKEN_REVOKED');
    } finally {
      await behindProxy.close();
      await other.close();
      await proxy.stop();
    }
  });
});
