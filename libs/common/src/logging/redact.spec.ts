import { Writable } from 'node:stream';
import { createLogger } from './logger';
import { REDACTED, redactSecrets } from './redact';

describe('log redaction', () => {
  it('replaces secrets at any depth and keeps everything else', () => {
    const out = redactSecrets({
      email: 'a@b.co',
      password: 'hunter2hunter2',
      headers: { authorization: 'Bearer abc', cookie: 'retailer_access_token=xyz', 'user-agent': 'curl' },
      body: { refreshToken: 'r1', newPassword: 'n', nested: [{ apiKey: 'k' }] },
      code: '123456',
      mfaEnabled: true,
    }) as any;
    expect(out.email).toBe('a@b.co');
    expect(out.password).toBe(REDACTED);
    expect(out.headers.authorization).toBe(REDACTED);
    expect(out.headers.cookie).toBe(REDACTED);
    expect(out.headers['user-agent']).toBe('curl');
    expect(out.body.refreshToken).toBe(REDACTED);
    expect(out.body.newPassword).toBe(REDACTED);
    expect(out.body.nested[0].apiKey).toBe(REDACTED);
    expect(out.code).toBe(REDACTED);
    expect(out.mfaEnabled).toBe(true);
  });

  it('keeps secrets out of what the logger actually writes', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const logger = createLogger('info', sink);
    logger.info({ req: { headers: { authorization: 'Bearer super-secret-token' } }, token: 'tok-123' }, 'request');
    const written = lines.join('');
    expect(written).toContain('"msg":"request"');
    expect(written).not.toContain('super-secret-token');
    expect(written).not.toContain('tok-123');
  });
});
