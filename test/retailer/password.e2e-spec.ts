import { getDataSourceToken } from '@nestjs/typeorm';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { login, registerOwner, STRONG_PASSWORD, uniqueEmail } from '../factories/retailer.factory';
import type { TestMailbox } from '../support/mailbox';
import { isolatedLimits, startInstance, TestInstance } from '../support/test-app';
import { useMailingInstance } from '../support/with-mailbox';

const NEW_PASSWORD = 'a brand new passphrase 77';

function tokenOf(link: string): string {
  const url = new URL(link);
  expect(url.origin).toBe('http://dashboard.test'); // PUBLIC_BASE_URL, never the request's Host
  return url.searchParams.get('token')!;
}

describe('password recovery', () => {
  const env = useMailingInstance();
  let mailbox: TestMailbox;
  let instance: TestInstance;
  beforeAll(() => ({ instance, mailbox } = env()));

  function requestReset(email: string, host = 'evil.example') {
    return request(instance.http).post('/api/v1/auth/password/forgot').set('Host', host).set('X-Forwarded-Host', host).send({ email });
  }

  it('mails a single-use link that resets the password and signs out every session', async () => {
    const owner = await registerOwner(instance);
    const sessionA = await login(instance, owner.email);
    const sessionB = await login(instance, owner.email);
    const seen = mailbox.messages.length;
    const res = await requestReset(owner.email.toUpperCase());
    expect(res.status).toBe(202);
    const mail = await mailbox.waitFor(owner.email, { subject: /reset/i, after: seen });
    const token = tokenOf(mail.links[0]);

    const reset = await request(instance.http).post('/api/v1/auth/password/reset').send({ token, password: NEW_PASSWORD }).expect(200);
    expect(reset.headers['referrer-policy']).toBe('no-referrer');

    for (const s of [sessionA, sessionB]) {
      const me = await request(instance.http).get('/api/v1/auth/me').set('Authorization', `Bearer ${s.token}`);
      expect(me.body.error?.code).toBe('TOKEN_REVOKED');
      const refresh = await request(instance.http).post('/api/v1/auth/refresh').send({ refreshToken: s.refreshToken });
      expect(refresh.status).toBe(401);
    }
    await request(instance.http).post('/api/v1/auth/login').send({ email: owner.email, password: STRONG_PASSWORD }).expect(401);
    const fresh = await login(instance, owner.email, NEW_PASSWORD);

    // The link works once.
    const again = await request(instance.http).post('/api/v1/auth/password/reset').send({ token, password: 'yet another passphrase 9' }).expect(401);
    expect(again.body.error.code).toBe('TOKEN_INVALID');

    await mailbox.waitFor(owner.email, { subject: /password was changed/i, after: seen });
    const audit = await request(instance.http).get('/api/v1/audit-logs').set('Authorization', `Bearer ${fresh.token}`).expect(200);
    const events = audit.body.data.items.map((r: { event: string }) => r.event);
    expect(events).toEqual(expect.arrayContaining(['password_reset_requested', 'password_reset_completed']));
  });

  it('answers an unknown email identically and sends nothing', async () => {
    const owner = await registerOwner(instance);
    const known = await requestReset(owner.email);
    const seen = mailbox.messages.length;
    const ghost = uniqueEmail('ghost');
    const unknown = await requestReset(ghost);
    expect(unknown.status).toBe(known.status);
    expect(unknown.body).toEqual(known.body);
    await new Promise((r) => setTimeout(r, 600));
    expect(mailbox.messages.slice(seen).filter((m) => m.to.includes(ghost))).toEqual([]);
  });

  it('stores only a hash of the reset token, and no link in the outbox', async () => {
    const owner = await registerOwner(instance);
    const seen = mailbox.messages.length;
    await requestReset(owner.email).expect(202);
    const mail = await mailbox.waitFor(owner.email, { subject: /reset/i, after: seen });
    const token = tokenOf(mail.links[0]);
    const ds = instance.app.get<DataSource>(getDataSourceToken());
    const dump = JSON.stringify(await ds.query(`SELECT * FROM one_time_tokens WHERE email = $1`, [owner.email]));
    expect(dump).not.toContain(token);
    const outbox = JSON.stringify(await ds.query(`SELECT * FROM mail_outbox WHERE to_address = $1`, [owner.email]));
    expect(outbox).not.toContain(token);
  });

  it('refuses an expired link with TOKEN_EXPIRED, an unknown one with TOKEN_INVALID, and keeps the password', async () => {
    const owner = await registerOwner(instance);
    const seen = mailbox.messages.length;
    await requestReset(owner.email).expect(202);
    const token = tokenOf((await mailbox.waitFor(owner.email, { subject: /reset/i, after: seen })).links[0]);
    const ds = instance.app.get<DataSource>(getDataSourceToken());
    await ds.query(`UPDATE one_time_tokens SET expires_at = now() - interval '1 second' WHERE email = $1`, [owner.email]);
    const expired = await request(instance.http).post('/api/v1/auth/password/reset').send({ token, password: NEW_PASSWORD }).expect(401);
    expect(expired.body.error.code).toBe('TOKEN_EXPIRED');
    const unknown = await request(instance.http).post('/api/v1/auth/password/reset').send({ token: 'not-a-real-token', password: NEW_PASSWORD }).expect(401);
    expect(unknown.body.error.code).toBe('TOKEN_INVALID');
    await login(instance, owner.email, STRONG_PASSWORD);
  });

  it('checks the new password against the policy without burning the link', async () => {
    const owner = await registerOwner(instance);
    const seen = mailbox.messages.length;
    await requestReset(owner.email).expect(202);
    const token = tokenOf((await mailbox.waitFor(owner.email, { subject: /reset/i, after: seen })).links[0]);
    const weak = await request(instance.http).post('/api/v1/auth/password/reset').send({ token, password: 'password1234' }).expect(400);
    expect(weak.body.error.details[0]).toMatchObject({ field: 'password', rule: 'common' });
    await request(instance.http).post('/api/v1/auth/password/reset').send({ token, password: NEW_PASSWORD }).expect(200);
  });

  it('lets only one of two simultaneous uses of a link through', async () => {
    const owner = await registerOwner(instance);
    const seen = mailbox.messages.length;
    await requestReset(owner.email).expect(202);
    const token = tokenOf((await mailbox.waitFor(owner.email, { subject: /reset/i, after: seen })).links[0]);
    const answers = await Promise.all(
      ['first passphrase 1234', 'second passphrase 1234'].map((password) => request(instance.http).post('/api/v1/auth/password/reset').send({ token, password })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 401]);
  });
});

describe('password change', () => {
  const env = useMailingInstance();
  let mailbox: TestMailbox;
  let instance: TestInstance;
  beforeAll(() => ({ instance, mailbox } = env()));

  it('changes the password, keeps the current session and signs out the others', async () => {
    const owner = await registerOwner(instance);
    const current = await login(instance, owner.email);
    const other = await login(instance, owner.email);
    await request(instance.http)
      .post('/api/v1/auth/password/change')
      .set('Authorization', `Bearer ${current.token}`)
      .send({ currentPassword: STRONG_PASSWORD, newPassword: NEW_PASSWORD })
      .expect(200);
    await request(instance.http).get('/api/v1/auth/me').set('Authorization', `Bearer ${current.token}`).expect(200);
    const gone = await request(instance.http).get('/api/v1/auth/me').set('Authorization', `Bearer ${other.token}`).expect(401);
    expect(gone.body.error.code).toBe('TOKEN_REVOKED');
    await login(instance, owner.email, NEW_PASSWORD);
    await mailbox.waitFor(owner.email, { subject: /password was changed/i });
  });

  it('refuses a wrong current password with INVALID_CREDENTIALS and a weak new one with VALIDATION_FAILED, changing nothing', async () => {
    const owner = await registerOwner(instance);
    const s = await login(instance, owner.email);
    const wrong = await request(instance.http)
      .post('/api/v1/auth/password/change')
      .set('Authorization', `Bearer ${s.token}`)
      .send({ currentPassword: 'not my password 1', newPassword: NEW_PASSWORD })
      .expect(401);
    expect(wrong.body.error.code).toBe('INVALID_CREDENTIALS');
    const weak = await request(instance.http)
      .post('/api/v1/auth/password/change')
      .set('Authorization', `Bearer ${s.token}`)
      .send({ currentPassword: STRONG_PASSWORD, newPassword: 'short' })
      .expect(400);
    expect(weak.body.error.details[0]).toMatchObject({ field: 'newPassword', rule: 'min_length' });
    await login(instance, owner.email, STRONG_PASSWORD);
  });

  it('needs a signed-in user', async () => {
    const res = await request(instance.http).post('/api/v1/auth/password/change').send({ currentPassword: 'a', newPassword: 'b' }).expect(401);
    expect(res.body.error.code).toBe('TOKEN_MISSING');
  });
});

describe('forgot-password limits', () => {
  it('limits requests per email and per IP with 429 and Retry-After', async () => {
    const instance = await startInstance({ env: isolatedLimits({ RATE_LIMIT_FORGOT_EMAIL: '2/1h', RATE_LIMIT_FORGOT_IP: '4/1h' }) });
    try {
      const email = uniqueEmail();
      for (let i = 0; i < 2; i++) await request(instance.http).post('/api/v1/auth/password/forgot').send({ email }).expect(202);
      const perEmail = await request(instance.http).post('/api/v1/auth/password/forgot').send({ email }).expect(429);
      expect(perEmail.headers['retry-after']).toBeDefined();
      await request(instance.http).post('/api/v1/auth/password/forgot').send({ email: uniqueEmail() }).expect(202);
      const perIp = await request(instance.http).post('/api/v1/auth/password/forgot').send({ email: uniqueEmail() }).expect(429);
      expect(perIp.body.error.code).toBe('TOO_MANY_ATTEMPTS');
    } finally {
      await instance.close();
    }
  });
});
