import request from 'supertest';
import { ProbeModule, probeCalls } from '../support/probe.module';
import { startInstance, TestInstance } from '../support/test-app';

describe('HTTP conventions (envelope, errors, headers)', () => {
  let instance: TestInstance;

  beforeAll(async () => {
    instance = await startInstance({ imports: [ProbeModule], env: { CORS_ORIGINS: 'https://dashboard.example.com' } });
  });
  afterAll(() => instance?.close());

  it('wraps success in the envelope and puts an X-Request-Id and helmet headers on every response', async () => {
    const res = await request(instance.http).get('/api/v1/health/live').expect(200);
    expect(res.body).toEqual({ success: true, data: { status: 'ok' } });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-powered-by']).toBeUndefined();
    const notFound = await request(instance.http).get('/api/v1/nothing-here').expect(404);
    expect(notFound.headers['x-request-id']).toBeDefined();
  });

  it('keeps a well-formed incoming X-Request-Id and replaces a malformed one', async () => {
    const kept = await request(instance.http).get('/api/v1/health/live').set('X-Request-Id', 'trace-abc.123');
    expect(kept.headers['x-request-id']).toBe('trace-abc.123');
    const replaced = await request(instance.http).get('/api/v1/health/live').set('X-Request-Id', 'bad id <script>');
    expect(replaced.headers['x-request-id']).not.toContain('script');
  });

  it('answers an unknown route with 404 NOT_FOUND, for every method', async () => {
    for (const method of ['get', 'post', 'delete', 'patch'] as const) {
      const res = await request(instance.http)[method]('/api/v1/no/such/route').expect(404);
      expect(res.body).toEqual({ success: false, error: { code: 'NOT_FOUND', message: expect.any(String) } });
    }
    await request(instance.http).get('/health/live').expect(404); // outside the /api/v1 prefix
  });

  it('answers a URL with malformed percent-encoding with 400 VALIDATION_FAILED in the envelope', async () => {
    for (const path of ['/api/v1/auth/sso/%E0%A4%A/callback', '/api/v1/team/members/%FF', '/api/v1/%']) {
      const res = await request(instance.http).get(path).expect(400);
      expect(res.body).toEqual({ success: false, error: { code: 'VALIDATION_FAILED', message: expect.any(String), details: [{ field: 'url', message: expect.any(String) }] } });
      expect(res.headers['x-request-id']).toBeDefined();
    }
  });

  it('rejects malformed JSON with VALIDATION_FAILED and never reaches the handler', async () => {
    const before = probeCalls.echo;
    const res = await request(instance.http)
      .post('/api/v1/probe/echo')
      .set('Content-Type', 'application/json')
      .send('{"name": "x",')
      .expect(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.details[0].field).toBe('body');
    expect(probeCalls.echo).toBe(before);
  });

  it('rejects a body of another content type', async () => {
    const before = probeCalls.echo;
    const res = await request(instance.http).post('/api/v1/probe/echo').set('Content-Type', 'text/plain').send('name=x').expect(400);
    expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'content-type' }] });
    const form = await request(instance.http).post('/api/v1/probe/echo').type('form').send({ name: 'x' }).expect(400);
    expect(form.body.error.code).toBe('VALIDATION_FAILED');
    expect(probeCalls.echo).toBe(before);
  });

  it('rejects unknown properties and wrong types, naming each field', async () => {
    const before = probeCalls.echo;
    const res = await request(instance.http)
      .post('/api/v1/probe/echo')
      .send({ name: { $ne: null }, count: '3', isAdmin: true })
      .expect(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    const fields = res.body.error.details.map((d: { field: string }) => d.field).sort();
    expect(fields).toEqual(['count', 'isAdmin', 'name']);
    expect(probeCalls.echo).toBe(before);
  });

  it('rejects a JSON body that is not an object', async () => {
    await request(instance.http).post('/api/v1/probe/echo').set('Content-Type', 'application/json').send('"just a string"').expect(400);
    await request(instance.http).post('/api/v1/probe/echo').set('Content-Type', 'application/json').send('null').expect(400);
  });

  it('accepts a valid body', async () => {
    const res = await request(instance.http).post('/api/v1/probe/echo').send({ name: 'ok', count: 2 }).expect(201);
    expect(res.body).toEqual({ success: true, data: { received: { name: 'ok', count: 2 } } });
  });

  it('answers a body over 100 kB with 413 PAYLOAD_TOO_LARGE', async () => {
    const before = probeCalls.echo;
    const big = JSON.stringify({ name: 'x'.repeat(101 * 1024) });
    const res = await request(instance.http).post('/api/v1/probe/echo').set('Content-Type', 'application/json').send(big).expect(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    const asText = await request(instance.http).post('/api/v1/probe/echo').set('Content-Type', 'text/plain').send('x'.repeat(200 * 1024));
    expect(asText.status).toBe(413);
    expect(probeCalls.echo).toBe(before);
  });

  it('answers an unexpected error with 500 INTERNAL_ERROR and a requestId, the details only in the log', async () => {
    const res = await request(instance.http).get('/api/v1/probe/boom').expect(500);
    expect(res.body).toEqual({
      success: false,
      error: { code: 'INTERNAL_ERROR', message: expect.any(String), requestId: res.headers['x-request-id'] },
    });
    expect(JSON.stringify(res.body)).not.toMatch(/SELECT|password_hash|stack/);
    const logged = instance.logs.records().find((r) => r.requestId === res.headers['x-request-id'] && r.msg === 'unexpected error');
    expect(JSON.stringify(logged)).toContain('internal detail');
    expect(JSON.stringify(logged)).toContain('stack');
  });

  it('allows CORS only from CORS_ORIGINS, with credentials', async () => {
    const allowed = await request(instance.http)
      .options('/api/v1/health/live')
      .set('Origin', 'https://dashboard.example.com')
      .set('Access-Control-Request-Method', 'POST');
    expect(allowed.headers['access-control-allow-origin']).toBe('https://dashboard.example.com');
    expect(allowed.headers['access-control-allow-credentials']).toBe('true');
    const denied = await request(instance.http)
      .options('/api/v1/health/live')
      .set('Origin', 'https://evil.example.com')
      .set('Access-Control-Request-Method', 'POST');
    expect(denied.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('client address and TRUST_PROXY', () => {
  it('ignores X-Forwarded-For from an untrusted peer', async () => {
    const instance = await startInstance({ imports: [ProbeModule] });
    try {
      const res = await request(instance.http).get('/api/v1/probe/ip').set('X-Forwarded-For', '203.0.113.9').expect(200);
      expect(res.body.data.ip).toBe('127.0.0.1');
    } finally {
      await instance.close();
    }
  });

  it('uses X-Forwarded-For when the hop is trusted', async () => {
    const instance = await startInstance({ imports: [ProbeModule], env: { TRUST_PROXY: 'loopback' } });
    try {
      const res = await request(instance.http).get('/api/v1/probe/ip').set('X-Forwarded-For', '203.0.113.9').expect(200);
      expect(res.body.data.ip).toBe('203.0.113.9');
    } finally {
      await instance.close();
    }
  });
});
