import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { getDataSourceToken } from '@nestjs/typeorm';
import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import {
  ADMIN_SUITE_ENV,
  adminMagicLinkToken,
  bearer,
  createAdmin,
  enrolAdminTotp,
  signedInAdmin,
  verifyAdminLink,
  verifyAdminMfa,
} from '../factories/admin.factory';
import { PUBLIC_BASE_URL } from '../factories/mail.factory';
import { stepWithTimeLeft, totpCodeAt, wrongTotpCode } from '../factories/mfa.factory';
import { login, registerOwner, uniqueEmail } from '../factories/retailer.factory';
import { expectError, expectWorks } from '../support/expectations';
import { decodeJwt, kidOf } from '../support/jwt-forge';
import type { TestMailbox } from '../support/mailbox';
import { TEST_SECRETS, TestInstance } from '../support/test-app';
import { useMailingInstance } from '../support/with-mailbox';

/**
 * Admin sign-in as an operator lives it: a magic link by mail (the same answer for any email), an
 * admin token and HttpOnly cookie (CSRF on unsafe cookie requests), TOTP when enrolled, logout,
 * and what a disabled admin or a retailer token gets at the admin console.
 */

// A TOTP test may wait up to 12 s for a step with time left, plus mail.
jest.setTimeout(60_000);

const run = promisify(execFile);
const REPO_ROOT = resolve(__dirname, '../..');

const ADMIN_COOKIE = 'admin_access_token';
const CSRF_COOKIE = 'csrf_token';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface SetCookie {
  name: string;
  value: string;
  /** Attribute names lower-cased; flags (HttpOnly, Secure) map to true. */
  attrs: Record<string, string | true>;
}

function setCookies(res: Response): SetCookie[] {
  const lines = [res.headers['set-cookie'] ?? []].flat() as string[];
  return lines.map((line) => {
    const [pair, ...rest] = line.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    const attrs: Record<string, string | true> = {};
    for (const attr of rest) {
      const at = attr.indexOf('=');
      if (at < 0) attrs[attr.toLowerCase()] = true;
      else attrs[attr.slice(0, at).toLowerCase()] = attr.slice(at + 1);
    }
    return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attrs };
  });
}

describe('admin sign-in', () => {
  const env = useMailingInstance({ env: ADMIN_SUITE_ENV });
  let instance: TestInstance;
  let mailbox: TestMailbox;
  beforeAll(() => ({ instance, mailbox } = env()));

  const db = () => instance.app.get<DataSource>(getDataSourceToken());
  const adminMe = (token: string) => bearer(instance, token).get('/admin/me');

  describe('magic link', () => {
    it('answers 202 with the same body for an unknown email, and mails only the admin a link to the console', async () => {
      const admin = await createAdmin(instance);
      const unknown = uniqueEmail('nobody');
      const seen = mailbox.messages.length;

      const forUnknown = await request(instance.http).post('/api/v1/admin/auth/magic-link').send({ email: unknown });
      const forAdmin = await request(instance.http).post('/api/v1/admin/auth/magic-link').send({ email: `  ${admin.email.toUpperCase()} ` });
      expect({ status: forAdmin.status, body: forAdmin.body }).toEqual({ status: 202, body: { success: true, data: expect.any(Object) } });
      expect({ status: forUnknown.status, body: forUnknown.body }).toEqual({ status: forAdmin.status, body: forAdmin.body });

      const mail = await mailbox.waitFor(admin.email, { after: seen });
      expect(mail.links).toHaveLength(1);
      const link = new URL(mail.links[0]);
      expect(`${link.origin}${link.pathname}`).toBe(`${PUBLIC_BASE_URL}/admin/sign-in`);
      // Mail leaves in order: the unknown address was asked for first and got nothing.
      expect(mailbox.messages.slice(seen).filter((m) => m.to.includes(unknown))).toEqual([]);
    });

    it('signs in once per link: token, HttpOnly cookie, CSRF cookie, no-referrer; the second use is TOKEN_INVALID', async () => {
      const admin = await createAdmin(instance);
      const link = await adminMagicLinkToken(instance, mailbox, admin.email);

      const res = await verifyAdminLink(instance, link);
      expectWorks(res);
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.body.data).toEqual({ token: expect.any(String), expiresAt: expect.any(String) });
      const cookies = setCookies(res);
      const access = cookies.find((c) => c.name === ADMIN_COOKIE);
      const csrf = cookies.find((c) => c.name === CSRF_COOKIE);
      expect(access).toMatchObject({ value: res.body.data.token, attrs: { httponly: true, samesite: 'Lax', path: '/' } });
      expect(csrf?.value).toEqual(expect.any(String));
      expect(csrf?.attrs.httponly).toBeUndefined();

      const again = await verifyAdminLink(instance, link);
      expectError(again, 401, 'TOKEN_INVALID');
      expect(setCookies(again).map((c) => c.name)).not.toContain(ADMIN_COOKIE);
      expectError(await verifyAdminLink(instance, 'x'.repeat(43)), 401, 'TOKEN_INVALID');

      // A link past MAGIC_LINK_TTL (15 min) is refused like any used or unknown one.
      const late = await adminMagicLinkToken(instance, mailbox, admin.email);
      await db().query(`UPDATE one_time_tokens SET expires_at = now() - interval '1 second' WHERE purpose = 'admin_magic_link' AND user_id = $1 AND used_at IS NULL`, [admin.id]);
      expectError(await verifyAdminLink(instance, late), 401, 'TOKEN_INVALID');

      const rows = (await db().query(`SELECT actor_type, status, metadata FROM audit_logs WHERE event = 'admin_login_success' AND actor_id = $1`, [admin.id])) as Array<Record<string, unknown>>;
      expect(rows).toEqual([{ actor_type: 'admin', status: 'success', metadata: { method: 'magic_link' } }]);
    });

    it('the cookie alone authenticates GET /admin/me; an unsafe cookie request needs X-CSRF-Token', async () => {
      const admin = await signedInAdmin(instance, mailbox);
      const accessValue = admin.cookies.find((c) => c.startsWith(`${ADMIN_COOKIE}=`))!.split(';')[0];
      const csrfValue = admin.cookies.find((c) => c.startsWith(`${CSRF_COOKIE}=`))!.split(';')[0];
      const cookieHeader = `${accessValue}; ${csrfValue}`;

      const me = await request(instance.http).get('/api/v1/admin/me').set('Cookie', cookieHeader);
      expectWorks(me);
      expect(me.body.data).toMatchObject({ admin: { id: admin.id, email: admin.email, totpEnabled: false }, fullAccess: false });

      const noHeader = await request(instance.http).post('/api/v1/admin/auth/logout').set('Cookie', cookieHeader);
      expectError(noHeader, 403, 'CSRF_FAILED');
      const wrongHeader = await request(instance.http).post('/api/v1/admin/auth/logout').set('Cookie', cookieHeader).set('X-CSRF-Token', 'not-the-cookie');
      expectError(wrongHeader, 403, 'CSRF_FAILED');
      // Refused means not done: the token still works.
      expectWorks(await adminMe(admin.token));

      const withHeader = await request(instance.http)
        .post('/api/v1/admin/auth/logout')
        .set('Cookie', cookieHeader)
        .set('X-CSRF-Token', csrfValue.slice(CSRF_COOKIE.length + 1));
      expectWorks(withHeader);
      expectError(await adminMe(admin.token), 401, 'TOKEN_REVOKED');
    });

    it('the token is an HS256 admin token: kid of the admin secret, aud retailer, sub, sid, fullAccess, 1 h', async () => {
      const admin = await signedInAdmin(instance, mailbox, { fullAccess: true });
      const { header, payload } = decodeJwt(admin.token);
      expect(header).toMatchObject({ alg: 'HS256', kid: kidOf(TEST_SECRETS.ADMIN_JWT_PRIVATE_KEY!) });
      expect(payload).toMatchObject({
        iss: instance.config.jwt.issuer,
        aud: ['retailer'],
        sub: admin.id,
        fullAccess: true,
        sid: expect.stringMatching(UUID),
        jti: expect.any(String),
        iat: expect.any(Number),
        exp: expect.any(Number),
      });
      expect(payload.act).toBeUndefined();
      expect((payload.exp as number) - (payload.iat as number)).toBe(3600);

      const me = await adminMe(admin.token);
      expectWorks(me);
      expect(me.body.data).toMatchObject({ admin: { id: admin.id, email: admin.email }, fullAccess: true });

      const limited = await signedInAdmin(instance, mailbox);
      expect(decodeJwt(limited.token).payload.fullAccess).toBe(false);
    });
  });

  describe('TOTP', () => {
    let step: number;
    let withTotp: { email: string; id: string; token: string; secret: string };
    let bruteForced: { email: string; secret: string };

    beforeAll(async () => {
      // Every code below is computed from this step: at least 12 s of it are left.
      step = await stepWithTimeLeft(12);
      const first = await signedInAdmin(instance, mailbox);
      withTotp = { ...first, ...(await enrolAdminTotp(instance, first.token, step)) };
      const second = await signedInAdmin(instance, mailbox);
      bruteForced = { email: second.email, ...(await enrolAdminTotp(instance, second.token, step)) };
    });

    it('after enrolment the link asks for TOTP; a right code signs in; the same code on a new challenge is MFA_INVALID_CODE', async () => {
      expect((await adminMe(withTotp.token)).body.data.admin.totpEnabled).toBe(true);

      const challenge = await verifyAdminLink(instance, await adminMagicLinkToken(instance, mailbox, withTotp.email));
      expectWorks(challenge);
      expect(challenge.body.data).toEqual({ mfaRequired: true, mfaToken: expect.any(String), methods: ['totp'] });
      expect(setCookies(challenge).map((c) => c.name)).not.toContain(ADMIN_COOKIE);

      const code = await totpCodeAt(withTotp.secret, step);
      const signedIn = await verifyAdminMfa(instance, challenge.body.data.mfaToken, code);
      expectWorks(signedIn);
      expect(setCookies(signedIn).map((c) => c.name)).toEqual(expect.arrayContaining([ADMIN_COOKIE, CSRF_COOKIE]));
      expect((await adminMe(signedIn.body.data.token)).body.data.admin.id).toBe(withTotp.id);

      // The used challenge is spent.
      expectError(await verifyAdminMfa(instance, challenge.body.data.mfaToken, await totpCodeAt(withTotp.secret, step + 1)), 401, 'TOKEN_INVALID');

      // A code seen once (over a shoulder, in a phishing proxy) does not sign in again.
      const next = await verifyAdminLink(instance, await adminMagicLinkToken(instance, mailbox, withTotp.email));
      expect(next.body.data.mfaRequired).toBe(true);
      const replay = await verifyAdminMfa(instance, next.body.data.mfaToken, code);
      expectError(replay, 401, 'MFA_INVALID_CODE');
      expect(setCookies(replay).map((c) => c.name)).not.toContain(ADMIN_COOKIE);
      // The refusal was about the code: the challenge still takes the app's next code.
      expectWorks(await verifyAdminMfa(instance, next.body.data.mfaToken, await totpCodeAt(withTotp.secret, step + 1)));
    });

    it('five wrong codes kill the challenge: the sixth attempt, with the right code, is TOKEN_INVALID', async () => {
      const challenge = await verifyAdminLink(instance, await adminMagicLinkToken(instance, mailbox, bruteForced.email));
      expect(challenge.body.data.mfaRequired).toBe(true);
      const wrong = await wrongTotpCode(bruteForced.secret, step);
      for (let attempt = 1; attempt <= 5; attempt++) {
        expectError(await verifyAdminMfa(instance, challenge.body.data.mfaToken, wrong), 401, 'MFA_INVALID_CODE');
      }
      const sixth = await verifyAdminMfa(instance, challenge.body.data.mfaToken, await totpCodeAt(bruteForced.secret, step));
      expectError(sixth, 401, 'TOKEN_INVALID');
      expect(setCookies(sixth).map((c) => c.name)).not.toContain(ADMIN_COOKIE);

      // The wrong codes also counted toward the email's lockout (LOGIN_MAX_ATTEMPTS, default 5).
      const locked = await verifyAdminLink(instance, await adminMagicLinkToken(instance, mailbox, bruteForced.email));
      expectError(locked, 429, 'TOO_MANY_ATTEMPTS');
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    });
  });

  it('logout revokes the token (TOKEN_REVOKED) and clears the cookie', async () => {
    const admin = await signedInAdmin(instance, mailbox);
    const out = await bearer(instance, admin.token).post('/admin/auth/logout');
    expectWorks(out);
    const cleared = setCookies(out).find((c) => c.name === ADMIN_COOKIE);
    expect(cleared?.value).toBe('');
    expectError(await adminMe(admin.token), 401, 'TOKEN_REVOKED');
    expectError(await bearer(instance, admin.token).post('/admin/auth/logout'), 401, 'TOKEN_REVOKED');
  });

  it('a disabled admin: its token is TOKEN_REVOKED, its pending link ACCOUNT_SUSPENDED, a new link request gets nothing', async () => {
    const admin = await signedInAdmin(instance, mailbox, { fullAccess: true });
    const pendingLink = await adminMagicLinkToken(instance, mailbox, admin.email);
    expectWorks(await adminMe(admin.token));

    await db().query(`UPDATE admins SET status = 'disabled' WHERE id = $1`, [admin.id]);

    expectError(await adminMe(admin.token), 401, 'TOKEN_REVOKED');
    expectError(await bearer(instance, admin.token).get('/admin/retailers'), 401, 'TOKEN_REVOKED');
    const verify = await verifyAdminLink(instance, pendingLink);
    expectError(verify, 403, 'ACCOUNT_SUSPENDED');
    expect(setCookies(verify).map((c) => c.name)).not.toContain(ADMIN_COOKIE);

    // Asking again looks like asking for an unknown email, and no link is sent.
    const control = await createAdmin(instance);
    const seen = mailbox.messages.length;
    const again = await request(instance.http).post('/api/v1/admin/auth/magic-link').send({ email: admin.email });
    expect(again.status).toBe(202);
    await request(instance.http).post('/api/v1/admin/auth/magic-link').send({ email: control.email }).expect(202);
    await mailbox.waitFor(control.email, { after: seen });
    expect(mailbox.messages.slice(seen).filter((m) => m.to.includes(admin.email))).toEqual([]);
  });

  describe('CLI admin:create', () => {
    /** Runs apps/cli/src/main.ts from source (what `npm run cli` builds and runs), as an operator would. */
    const cli = (args: string[]) =>
      run(process.execPath, ['-r', 'ts-node/register', '-r', 'tsconfig-paths/register', 'apps/cli/src/main.ts', ...args], {
        cwd: REPO_ROOT,
        timeout: 60_000,
        env: { PATH: process.env.PATH, NODE_ENV: 'test', DATABASE_URL: instance.config.database.url, ...TEST_SECRETS, TS_NODE_TRANSPILE_ONLY: '1' },
      });

    it('creates an admin who then signs in by magic link; a second one of the same email and a missing email are refused', async () => {
      const email = uniqueEmail('ops');
      const { stdout } = await cli(['admin:create', '--email', `  ${email.toUpperCase()} `, '--name', 'Ops Person', '--full-access']);
      const id = /id=([0-9a-f-]{36})/.exec(stdout)?.[1];
      expect(id).toMatch(UUID);

      const res = await verifyAdminLink(instance, await adminMagicLinkToken(instance, mailbox, email));
      expectWorks(res);
      const me = await adminMe(res.body.data.token);
      expect(me.body.data).toMatchObject({ admin: { id, email, name: 'Ops Person' }, fullAccess: true });
      const rows = (await db().query(`SELECT actor_type, metadata FROM audit_logs WHERE event = 'admin_created' AND metadata->>'adminId' = $1`, [id])) as Array<{ actor_type: string }>;
      expect(rows).toHaveLength(1);

      await expect(cli(['admin:create', '--email', email])).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('already exists') });
      await expect(cli(['admin:create'])).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('--email') });
      expect((await db().query(`SELECT count(*)::int AS n FROM admins WHERE email = $1`, [email]))[0].n).toBe(1);

      // Without --full-access the admin is limited.
      const limitedEmail = uniqueEmail('ops');
      await cli(['admin:create', '--email', limitedEmail]);
      const limitedIn = await verifyAdminLink(instance, await adminMagicLinkToken(instance, mailbox, limitedEmail));
      expect((await adminMe(limitedIn.body.data.token)).body.data.fullAccess).toBe(false);
    }, 90_000);
  });

  it('a retailer token at /admin/me is TOKEN_INVALID (a guard accepts only its own type)', async () => {
    const owner = await registerOwner(instance);
    const session = await login(instance, owner.email);
    expectError(await adminMe(session.token), 401, 'TOKEN_INVALID');
    expectError(await request(instance.http).get('/api/v1/admin/me').set('Cookie', `${ADMIN_COOKIE}=${session.token}`), 401, 'TOKEN_INVALID');
    expectError(await request(instance.http).get('/api/v1/admin/me'), 401, 'TOKEN_MISSING');
  });
});
