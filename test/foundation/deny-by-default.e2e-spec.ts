import request from 'supertest';
import { ProbeModule, probeCalls } from '../support/probe.module';
import { listRoutes } from '../support/routes';
import { startInstance, TestInstance } from '../support/test-app';

const SAMPLE_ID = '00000000-0000-4000-8000-000000000000';

describe('deny by default', () => {
  let instance: TestInstance;
  beforeAll(async () => {
    instance = await startInstance();
  });
  afterAll(() => instance?.close());

  it('every registered route is either @Public() or behind a module auth decorator', () => {
    const routes = listRoutes(instance.app);
    expect(routes.length).toBeGreaterThan(0);
    const undeclared = routes.filter((r) => !r.policy).map((r) => `${r.method} ${r.path} (${r.controller}.${r.handler})`);
    expect(undeclared).toEqual([]);
  });

  it('every non-public route refuses a request without credentials with 401', async () => {
    const guarded = listRoutes(instance.app).filter((r) => r.policy !== 'public');
    for (const route of guarded) {
      const path = route.path.replace(/:[A-Za-z]+/g, SAMPLE_ID);
      const method = route.method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';
      const res = await request(instance.http)[method](path).send({});
      expect({ route: `${route.method} ${route.path}`, status: res.status, code: res.body?.error?.code }).toEqual({
        route: `${route.method} ${route.path}`,
        status: 401,
        code: 'TOKEN_MISSING',
      });
    }
  });

  it('finds and refuses a route that forgot its decorator', async () => {
    const probe = await startInstance({ imports: [ProbeModule] });
    try {
      const undeclared = listRoutes(probe.app).filter((r) => !r.policy);
      expect(undeclared.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/v1/probe/forgotten']);
      const before = probeCalls.forgotten;
      const res = await request(probe.http)
        .get('/api/v1/probe/forgotten')
        .set('Authorization', 'Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.sig-value-xyz')
        .set('Cookie', 'retailer_access_token=cookie-secret-value')
        .expect(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
      expect(probeCalls.forgotten).toBe(before);
      // The refusal is logged with the request id, client address and reason code, and no secret.
      const refusal = probe.logs.records().find((r) => r.requestId === res.headers['x-request-id'] && r.msg === 'request refused');
      expect(refusal).toMatchObject({ reason: 'FORBIDDEN', ip: '127.0.0.1', path: '/api/v1/probe/forgotten' });
      expect(probe.logs.text).not.toContain('sig-value-xyz');
      expect(probe.logs.text).not.toContain('c2VjcmV0LXBheWxvYWQ');
      expect(probe.logs.text).not.toContain('cookie-secret-value');
    } finally {
      await probe.close();
    }
  });
});
