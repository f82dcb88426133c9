import { getDataSourceToken } from '@nestjs/typeorm';
import { generate } from 'otplib';
import request, { type Response } from 'supertest';
import { DataSource } from 'typeorm';
import { codeFromMail, containsWord, onlyLinkOf, PUBLIC_BASE_URL, sleep, tokenFromLink } from '../factories/mail.factory';
import { cookieValue, LoggedIn, login, RegisteredOwner, registerOwner, STRONG_PASSWORD, uniqueEmail } from '../factories/retailer.factory';
import type { ReceivedMail, TestMailbox } from '../support/mailbox';
import { isolatedLimits, TestInstance } from '../support/test-app';
import { MailingInstance, useMailingInstance } from '../support/with-mailbox';

const CODE_SUBJECT = /sign-in code/i;
const FACTOR_CHANGED_SUBJECT = /security settings changed/i;
const LINK_SUBJECT = /sign-in link/i;
const ACCESS_COOKIE = 'retailer_access_token';
const REFRESH_COOKIE = 'retailer_refresh_token';

type Owner = RegisteredOwner & { session: LoggedIn };

/** A 6-digit code that is not `code`. */
const otherCode = (code: string, offset = 1): string => String((Number(code) + offset) % 1_000_000).padStart(6, '0');

function setCookies(res: Response): string[] {
  return [res.headers['set-cookie'] ?? []].flat() as string[];
}

function expectError(res: Response, status: number, code: string): void {
  expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { success: false, error: { code } } });
}

function expectRetryAfter(res: Response): void {
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
}

/**
 * What a client of the service does, against one mailing instance: sign in, answer challenges,
 * read the mail. Looked up lazily, so it can be built before the instance starts.
 */
class AuthClient {
  constructor(private readonly env: () => MailingInstance) {}

  get instance(): TestInstance {
    return this.env().instance;
  }

  get mailbox(): TestMailbox {
    return this.env().mailbox;
  }

  get api() {
    return request(this.instance.http);
  }

  get dataSource(): DataSource {
    return this.instance.app.get<DataSource>(getDataSourceToken());
  }

  /** A registered owner who turned email codes on, with the session they did it from. */
  async ownerWithEmailOtp(): Promise<Owner> {
    const owner = await registerOwner(this.instance);
    const session = await login(this.instance, owner.email);
    await this.enableEmailOtp(owner.email, session);
    return { ...owner, session };
  }

  async enableEmailOtp(email: string, session: LoggedIn): Promise<void> {
    const seen = this.mailbox.messages.length;
    const res = await this.api.post('/api/v1/auth/mfa/email-otp/enable').set('Authorization', `Bearer ${session.token}`);
    expect({ status: res.status, data: res.body.data }).toEqual({ status: 200, data: { emailOtpEnabled: true } });
    const notice = await this.mailbox.waitFor(email, { subject: FACTOR_CHANGED_SUBJECT, after: seen });
    expect(notice.text).toMatch(/codes by email were turned on/i);
  }

  /** Turns TOTP on for a signed-in user, as the dashboard does; answers the secret and backup codes. */
  async enableTotp(session: LoggedIn): Promise<{ secret: string; backupCodes: string[] }> {
    const setup = await this.api.post('/api/v1/auth/mfa/totp/setup').set('Authorization', `Bearer ${session.token}`).expect(200);
    const secret: string = setup.body.data.secret;
    const enabled = await this.api
      .post('/api/v1/auth/mfa/totp/enable')
      .set('Authorization', `Bearer ${session.token}`)
      .send({ code: await generate({ secret }) })
      .expect(200);
    return { secret, backupCodes: enabled.body.data.backupCodes };
  }

  passwordLogin(email: string, password = STRONG_PASSWORD) {
    return this.api.post('/api/v1/auth/login').send({ email, password });
  }

  /** A password login that must answer with an MFA challenge; returns its token. */
  async challenge(email: string, methods: string[] = ['email_otp']): Promise<string> {
    const res = await this.passwordLogin(email);
    expectChallenge(res, methods);
    return res.body.data.mfaToken;
  }

  send(mfaToken: string) {
    return this.api.post('/api/v1/auth/mfa/email-otp/send').send({ mfaToken });
  }

  /** Asks for a code for the challenge and reads it from the mail that arrives. */
  async sendCode(mfaToken: string, email: string): Promise<{ code: string; mail: ReceivedMail }> {
    const seen = this.mailbox.messages.length;
    const res = await this.send(mfaToken);
    expect(res.status).toBe(202);
    const mail = await this.mailbox.waitFor(email, { subject: CODE_SUBJECT, after: seen });
    return { code: codeFromMail(mail), mail };
  }

  /** Two sends of one challenge that mailed different codes (a repeat is a one-in-a-million chance; ask again). */
  async sendFreshCode(mfaToken: string, email: string, previous: string): Promise<string> {
    for (;;) {
      const { code } = await this.sendCode(mfaToken, email);
      if (code !== previous) return code;
    }
  }

  verify(mfaToken: string, code: string, method = 'email_otp') {
    return this.api.post('/api/v1/auth/mfa/verify').send({ mfaToken, method, code });
  }

  me(accessToken: string) {
    return this.api.get('/api/v1/auth/me').set('Authorization', `Bearer ${accessToken}`);
  }

  requestLink(email: string, host = 'evil.example') {
    return this.api.post('/api/v1/auth/magic-link').set('Host', host).set('X-Forwarded-Host', host).send({ email });
  }

  /** Requests a magic link and returns the one the mail holds. */
  async mailedLink(email: string): Promise<string> {
    const seen = this.mailbox.messages.length;
    await this.requestLink(email).expect(202);
    return onlyLinkOf(await this.mailbox.waitFor(email, { subject: LINK_SUBJECT, after: seen }));
  }

  verifyLink(token: string) {
    return this.api.post('/api/v1/auth/magic-link/verify').send({ token });
  }

  /**
   * The answer is a session like a password login's: tokens in the body, the HttpOnly cookies,
   * and the access cookie alone is enough for /auth/me.
   */
  async expectSignedIn(res: Response, email: string): Promise<{ token: string; refreshToken: string }> {
    expect({ status: res.status, body: res.body }).toMatchObject({
      status: 200,
      body: { success: true, data: { token: expect.any(String), refreshToken: expect.any(String), expiresAt: expect.any(String), user: { email } } },
    });
    expect(res.body.data).not.toHaveProperty('mfaRequired');
    const cookies = setCookies(res);
    expect(cookieValue(cookies, ACCESS_COOKIE)).toBe(res.body.data.token);
    expect(cookieValue(cookies, REFRESH_COOKIE)).toBe(res.body.data.refreshToken);
    expect(cookieValue(cookies, 'csrf_token')).toBeTruthy();
    for (const name of [ACCESS_COOKIE, REFRESH_COOKIE]) expect(cookies.find((c) => c.startsWith(`${name}=`))).toMatch(/;\s*HttpOnly/i);
    const me = await this.api.get('/api/v1/auth/me').set('Cookie', `${ACCESS_COOKIE}=${res.body.data.token}`);
    expect({ status: me.status, email: me.body.data?.user?.email }).toEqual({ status: 200, email });
    return { token: res.body.data.token, refreshToken: res.body.data.refreshToken };
  }
}

/** A 200 carrying an MFA challenge, and no session. */
function expectChallenge(res: Response, methods: string[]): void {
  expect({ status: res.status, data: res.body.data }).toMatchObject({ status: 200, data: { mfaRequired: true, mfaToken: expect.any(String), methods } });
  expect(res.body.data.methods).toHaveLength(methods.length);
  expect(res.body.data).not.toHaveProperty('token');
  expect(res.body.data).not.toHaveProperty('refreshToken');
  expect(cookieValue(setCookies(res), ACCESS_COOKIE)).toBeUndefined();
  expect(cookieValue(setCookies(res), REFRESH_COOKIE)).toBeUndefined();
}

// ------------------------------------------------------------------------------------------------
// Email one-time codes
// ------------------------------------------------------------------------------------------------

describe('email one-time codes', () => {
  // Above the 5 wrong codes that kill a challenge, so the challenge limit is seen on its own.
  const client = new AuthClient(useMailingInstance({ env: { LOGIN_MAX_ATTEMPTS: '10' } }));

  describe('turning them on and off', () => {
    it('turns on for a signed-in user with a notice mail; login then asks for an email code instead of signing in', async () => {
      const owner = await registerOwner(client.instance);
      const session = await login(client.instance, owner.email);
      await client.enableEmailOtp(owner.email, session);

      const res = await client.passwordLogin(owner.email);
      expectChallenge(res, ['email_otp']);
      // The session that turned the factor on keeps working.
      await client.me(session.token).expect(200);
    });

    it('needs a signed-in user', async () => {
      const res = await client.api.post('/api/v1/auth/mfa/email-otp/enable');
      expectError(res, 401, 'TOKEN_MISSING');
    });

    it('turns off with DELETE /auth/mfa/email-otp, with a notice mail; login then signs in directly again', async () => {
      const owner = await client.ownerWithEmailOtp();
      const seen = client.mailbox.messages.length;
      const off = await client.api.delete('/api/v1/auth/mfa/email-otp').set('Authorization', `Bearer ${owner.session.token}`);
      expect({ status: off.status, data: off.body.data }).toEqual({ status: 200, data: { emailOtpEnabled: false } });
      const notice = await client.mailbox.waitFor(owner.email, { subject: FACTOR_CHANGED_SUBJECT, after: seen });
      expect(notice.text).toMatch(/turned off/i);

      await client.expectSignedIn(await client.passwordLogin(owner.email), owner.email);
    });
  });

  describe('completing a login', () => {
    it('mails a 6-digit code (not in the subject) that signs in like a password login', async () => {
      const owner = await client.ownerWithEmailOtp();
      const mfaToken = await client.challenge(owner.email);

      const { code, mail } = await client.sendCode(mfaToken, owner.email);
      expect(code).toMatch(/^\d{6}$/);
      expect(mail.to).toEqual([owner.email]);
      expect(mail.subject).not.toContain(code);

      const signedIn = await client.expectSignedIn(await client.verify(mfaToken, code), owner.email);
      const me = await client.me(signedIn.token).expect(200);
      expect(me.body.data.user.mfa).toEqual({ totp: false, emailOtp: true });
    });

    it('accepts a code once: neither the used challenge nor a later one takes it again', async () => {
      const owner = await client.ownerWithEmailOtp();
      const mfaToken = await client.challenge(owner.email);
      const { code } = await client.sendCode(mfaToken, owner.email);
      await client.expectSignedIn(await client.verify(mfaToken, code), owner.email);

      expectError(await client.verify(mfaToken, code), 401, 'TOKEN_INVALID');
      expectError(await client.send(mfaToken), 401, 'TOKEN_INVALID');

      const nextLogin = await client.challenge(owner.email);
      expectError(await client.verify(nextLogin, code), 401, 'MFA_INVALID_CODE');
    });

    it('signs in exactly one of two simultaneous verifies of one code', async () => {
      const owner = await client.ownerWithEmailOtp();
      const mfaToken = await client.challenge(owner.email);
      const { code } = await client.sendCode(mfaToken, owner.email);
      const answers = await Promise.all([client.verify(mfaToken, code), client.verify(mfaToken, code)]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 401]);
    });

    it("refuses one challenge's code on another challenge of the same user", async () => {
      const owner = await client.ownerWithEmailOtp();
      const first = await client.challenge(owner.email);
      const second = await client.challenge(owner.email);
      const { code: firstCode } = await client.sendCode(first, owner.email);
      const secondCode = await client.sendFreshCode(second, owner.email, firstCode);

      expectError(await client.verify(second, firstCode), 401, 'MFA_INVALID_CODE');
      expectError(await client.verify(first, secondCode), 401, 'MFA_INVALID_CODE');

      // Each challenge still takes its own code.
      await client.expectSignedIn(await client.verify(first, firstCode), owner.email);
      await client.expectSignedIn(await client.verify(second, secondCode), owner.email);
    });

    it('replaces the code of a challenge with each new send', async () => {
      const owner = await client.ownerWithEmailOtp();
      const mfaToken = await client.challenge(owner.email);
      const { code: older } = await client.sendCode(mfaToken, owner.email);
      const newer = await client.sendFreshCode(mfaToken, owner.email, older);

      expectError(await client.verify(mfaToken, older), 401, 'MFA_INVALID_CODE');
      await client.expectSignedIn(await client.verify(mfaToken, newer), owner.email);
    });

    it('kills the challenge after 5 wrong codes: the right code is then refused; a new login works', async () => {
      const owner = await client.ownerWithEmailOtp();
      const mfaToken = await client.challenge(owner.email);
      const { code } = await client.sendCode(mfaToken, owner.email);

      for (let i = 1; i <= 5; i++) expectError(await client.verify(mfaToken, otherCode(code, i)), 401, 'MFA_INVALID_CODE');
      expectError(await client.verify(mfaToken, code), 401, 'TOKEN_INVALID');
      expectError(await client.send(mfaToken), 401, 'TOKEN_INVALID');

      const retry = await client.challenge(owner.email);
      const { code: fresh } = await client.sendCode(retry, owner.email);
      await client.expectSignedIn(await client.verify(retry, fresh), owner.email);
    });
  });

  describe('refusals', () => {
    it('refuses to send a code to a user who has only TOTP (400 VALIDATION_FAILED), and mails nothing', async () => {
      const owner = await registerOwner(client.instance);
      await client.enableTotp(await login(client.instance, owner.email));
      const mfaToken = await client.challenge(owner.email, ['totp', 'backup_code']);

      const seen = client.mailbox.messages.length;
      expectError(await client.send(mfaToken), 400, 'VALIDATION_FAILED');
      // Mail queued after the refused send arrives; no code mail does.
      await client.mailedLink((await registerOwner(client.instance)).email);
      await sleep(500);
      expect(client.mailbox.messages.slice(seen).filter((m) => CODE_SUBJECT.test(m.subject))).toEqual([]);
    });

    it('refuses a garbage challenge token, and a real token of another type, with TOKEN_INVALID', async () => {
      const owner = await registerOwner(client.instance);
      const session = await login(client.instance, owner.email);
      for (const mfaToken of ['garbage', 'a.b.c', session.token]) {
        expectError(await client.send(mfaToken), 401, 'TOKEN_INVALID');
        expectError(await client.verify(mfaToken, '123456'), 401, 'TOKEN_INVALID');
      }
    });

    it('does not take the challenge token as a session at /auth/me, as Bearer or as cookie', async () => {
      const owner = await client.ownerWithEmailOtp();
      const mfaToken = await client.challenge(owner.email);
      expectError(await client.me(mfaToken), 401, 'TOKEN_INVALID');
      const asCookie = await client.api.get('/api/v1/auth/me').set('Cookie', `${ACCESS_COOKIE}=${mfaToken}`);
      expect(asCookie.status).toBe(401);
    });

    it('never writes the code or the challenge token to the log', async () => {
      const owner = await client.ownerWithEmailOtp();
      const mfaToken = await client.challenge(owner.email);
      const { code } = await client.sendCode(mfaToken, owner.email);
      expectError(await client.verify(mfaToken, otherCode(code)), 401, 'MFA_INVALID_CODE');
      await client.expectSignedIn(await client.verify(mfaToken, code), owner.email);
      expectError(await client.verify(mfaToken, code), 401, 'TOKEN_INVALID');

      const log = client.instance.logs.text;
      expect(log.length).toBeGreaterThan(0);
      expect(containsWord(log, code)).toBe(false);
      expect(log).not.toContain(mfaToken);
    });
  });
});

describe('email one-time codes: lifetimes', () => {
  describe('a code older than EMAIL_OTP_TTL', () => {
    const client = new AuthClient(useMailingInstance({ env: { EMAIL_OTP_TTL: '1s' } }));

    it('is refused with MFA_INVALID_CODE; a new send on the same challenge works', async () => {
      const owner = await client.ownerWithEmailOtp();
      const mfaToken = await client.challenge(owner.email);
      const { code } = await client.sendCode(mfaToken, owner.email);
      await sleep(1_200);
      expectError(await client.verify(mfaToken, code), 401, 'MFA_INVALID_CODE');

      const fresh = await client.sendCode(mfaToken, owner.email);
      await client.expectSignedIn(await client.verify(mfaToken, fresh.code), owner.email);
    });
  });

  describe('a challenge older than MFA_CHALLENGE_TTL', () => {
    const client = new AuthClient(useMailingInstance({ env: { MFA_CHALLENGE_TTL: '1s' } }));

    it('is refused for sending and verifying with TOKEN_EXPIRED or TOKEN_INVALID', async () => {
      const owner = await client.ownerWithEmailOtp();
      const mfaToken = await client.challenge(owner.email);
      await sleep(1_200);
      for (const res of [await client.send(mfaToken), await client.verify(mfaToken, '123456')]) {
        expect(res.status).toBe(401);
        expect(['TOKEN_EXPIRED', 'TOKEN_INVALID']).toContain(res.body.error?.code);
      }
    });
  });
});

describe('email one-time codes: limits', () => {
  describe('wrong codes and the login lockout (LOGIN_MAX_ATTEMPTS=3)', () => {
    const client = new AuthClient(useMailingInstance({ env: isolatedLimits({ LOGIN_MAX_ATTEMPTS: '3' }) }));

    it('counts wrong codes toward the email lockout: then the right code and the right password get 429 with Retry-After', async () => {
      const owner = await client.ownerWithEmailOtp();
      const mfaToken = await client.challenge(owner.email);
      const { code } = await client.sendCode(mfaToken, owner.email);
      for (let i = 1; i <= 3; i++) expectError(await client.verify(mfaToken, otherCode(code, i)), 401, 'MFA_INVALID_CODE');

      const rightCode = await client.verify(mfaToken, code);
      expectError(rightCode, 429, 'TOO_MANY_ATTEMPTS');
      expectRetryAfter(rightCode);

      const rightPassword = await client.passwordLogin(owner.email);
      expectError(rightPassword, 429, 'TOO_MANY_ATTEMPTS');
      expectRetryAfter(rightPassword);
    });
  });

  describe('sends per email (RATE_LIMIT_OTP_SEND_EMAIL=2/15m)', () => {
    const client = new AuthClient(useMailingInstance({ env: isolatedLimits({ RATE_LIMIT_OTP_SEND_EMAIL: '2/15m' }) }));

    it('answers the 3rd send for one email, even on a new challenge, with 429 and Retry-After; other emails are unaffected', async () => {
      const owner = await client.ownerWithEmailOtp();
      const first = await client.challenge(owner.email);
      await client.sendCode(first, owner.email);
      await client.sendCode(first, owner.email);

      const second = await client.challenge(owner.email);
      const third = await client.send(second);
      expectError(third, 429, 'TOO_MANY_ATTEMPTS');
      expectRetryAfter(third);

      const other = await client.ownerWithEmailOtp();
      const otherChallenge = await client.challenge(other.email);
      const { code } = await client.sendCode(otherChallenge, other.email);
      await client.expectSignedIn(await client.verify(otherChallenge, code), other.email);
    });
  });
});

// ------------------------------------------------------------------------------------------------
// Magic links
// ------------------------------------------------------------------------------------------------

describe('magic links', () => {
  const client = new AuthClient(useMailingInstance());

  describe('signing in', () => {
    it('mails a link on PUBLIC_BASE_URL (whatever Host the request names) that signs in, with Referrer-Policy no-referrer and an audit row', async () => {
      const owner = await registerOwner(client.instance);
      const seen = client.mailbox.messages.length;
      const res = await client.requestLink(owner.email.toUpperCase(), 'evil.example');
      expect(res.status).toBe(202);
      const mail = await client.mailbox.waitFor(owner.email, { subject: LINK_SUBJECT, after: seen });
      const link = onlyLinkOf(mail);
      expect(new URL(link).origin).toBe(PUBLIC_BASE_URL);
      expect(link).not.toContain('evil.example');
      const token = tokenFromLink(link);

      const verified = await client.verifyLink(token);
      expect(verified.headers['referrer-policy']).toBe('no-referrer');
      const session = await client.expectSignedIn(verified, owner.email);

      const audit = await client.api.get('/api/v1/audit-logs?event=login_success').set('Authorization', `Bearer ${session.token}`).expect(200);
      expect(audit.body.data.items).toEqual(
        expect.arrayContaining([expect.objectContaining({ event: 'login_success', actorId: owner.userId, metadata: expect.objectContaining({ method: 'magic_link' }) })]),
      );
    });

    it('answers an unknown email with the same status and body, and mails nothing', async () => {
      const owner = await registerOwner(client.instance);
      const known = await client.requestLink(owner.email);
      const ghost = uniqueEmail('ghost');
      const seen = client.mailbox.messages.length;
      const unknown = await client.requestLink(ghost);
      expect({ status: unknown.status, body: unknown.body }).toEqual({ status: known.status, body: known.body });

      // Mail queued after the ghost's request arrives; nothing for the ghost does.
      const later = await registerOwner(client.instance);
      await client.mailedLink(later.email);
      await sleep(500);
      expect(client.mailbox.messages.slice(seen).filter((m) => m.to.some((to) => to.toLowerCase() === ghost))).toEqual([]);
    });

    it('gives a user with a second factor the MFA challenge instead of a session; completing it signs in', async () => {
      const owner = await client.ownerWithEmailOtp();
      const challenged = await client.verifyLink(tokenFromLink(await client.mailedLink(owner.email)));
      expect(challenged.headers['referrer-policy']).toBe('no-referrer');
      expectChallenge(challenged, ['email_otp']);

      const mfaToken: string = challenged.body.data.mfaToken;
      const { code } = await client.sendCode(mfaToken, owner.email);
      await client.expectSignedIn(await client.verify(mfaToken, code), owner.email);
    });

    it('lists TOTP and backup codes for a TOTP user, and a backup code completes it', async () => {
      const owner = await registerOwner(client.instance);
      const { backupCodes } = await client.enableTotp(await login(client.instance, owner.email));
      const challenged = await client.verifyLink(tokenFromLink(await client.mailedLink(owner.email)));
      expectChallenge(challenged, ['totp', 'backup_code']);
      await client.expectSignedIn(await client.verify(challenged.body.data.mfaToken, backupCodes[0], 'backup_code'), owner.email);
    });
  });

  describe('single use', () => {
    it('works once: a second verify is TOKEN_INVALID', async () => {
      const owner = await registerOwner(client.instance);
      const token = tokenFromLink(await client.mailedLink(owner.email));
      await client.expectSignedIn(await client.verifyLink(token), owner.email);
      expectError(await client.verifyLink(token), 401, 'TOKEN_INVALID');
    });

    it('lets exactly one of two simultaneous verifies of one link through', async () => {
      const owner = await registerOwner(client.instance);
      const token = tokenFromLink(await client.mailedLink(owner.email));
      const answers = await Promise.all([client.verifyLink(token), client.verifyLink(token)]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 401]);
      expect(answers.find((a) => a.status === 401)!.body.error.code).toBe('TOKEN_INVALID');
    });

    it('refuses a garbage token with TOKEN_INVALID', async () => {
      for (const token of ['garbage', 'x'.repeat(43)]) expectError(await client.verifyLink(token), 401, 'TOKEN_INVALID');
    });

    it('stores only a hash of the token', async () => {
      const owner = await registerOwner(client.instance);
      const token = tokenFromLink(await client.mailedLink(owner.email));
      const rows = await client.dataSource.query(`SELECT * FROM one_time_tokens WHERE email = $1`, [owner.email]);
      expect(rows.length).toBeGreaterThan(0);
      expect(JSON.stringify(rows)).not.toContain(token);
      const outbox = await client.dataSource.query(`SELECT * FROM mail_outbox WHERE to_address = $1`, [owner.email]);
      expect(JSON.stringify(outbox)).not.toContain(token);
      // The link still signs in: the stored hash is what it is checked against.
      await client.expectSignedIn(await client.verifyLink(token), owner.email);
    });
  });

  describe('accounts that may not sign in', () => {
    it('answers 403 ACCOUNT_SUSPENDED to the link of a retailer suspended since it was mailed', async () => {
      const owner = await registerOwner(client.instance);
      const token = tokenFromLink(await client.mailedLink(owner.email));
      await client.dataSource.query(`UPDATE retailers SET status = 'suspended' WHERE id = $1`, [owner.retailerId]);
      const res = await client.verifyLink(token);
      expectError(res, 403, 'ACCOUNT_SUSPENDED');
      expect(cookieValue(setCookies(res), ACCESS_COOKIE)).toBeUndefined();
    });
  });
});

describe('magic links: lifetime and limits', () => {
  describe('a link older than MAGIC_LINK_TTL', () => {
    const client = new AuthClient(useMailingInstance({ env: { MAGIC_LINK_TTL: '1s' } }));

    it('is refused with TOKEN_INVALID', async () => {
      const owner = await registerOwner(client.instance);
      const token = tokenFromLink(await client.mailedLink(owner.email));
      await sleep(1_200);
      expectError(await client.verifyLink(token), 401, 'TOKEN_INVALID');
    });
  });

  describe('requests per email (RATE_LIMIT_MAGIC_LINK_EMAIL=2/15m)', () => {
    const client = new AuthClient(useMailingInstance({ env: isolatedLimits({ RATE_LIMIT_MAGIC_LINK_EMAIL: '2/15m' }) }));

    it('answers the 3rd request for one email with 429 and Retry-After, known account or not', async () => {
      const owner = await registerOwner(client.instance);
      const ghost = uniqueEmail('ghost');
      for (const email of [owner.email, ghost]) {
        for (let i = 0; i < 2; i++) await client.requestLink(email).expect(202);
        const third = await client.requestLink(email);
        expectError(third, 429, 'TOO_MANY_ATTEMPTS');
        expectRetryAfter(third);
      }
      // Another email is not affected.
      await client.mailedLink((await registerOwner(client.instance)).email);
    });
  });
});
