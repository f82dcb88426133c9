import { getDataSourceToken } from '@nestjs/typeorm';
import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import {
  base32Decode,
  decodeQrDataUrl,
  enableTotp,
  registerOwnerWithTotp,
  setupTotp,
  startMfaChallenge,
  stepWithTimeLeft,
  totpCodeAt,
  verifyMfa,
  wrongTotpCode,
} from '../factories/mfa.factory';
import { login, registerOwner, STRONG_PASSWORD } from '../factories/retailer.factory';
import { isolatedLimits, startInstance, TestInstance } from '../support/test-app';
import { useMailingInstance } from '../support/with-mailbox';

/**
 * TOTP as a merchant lives it: enrol with an authenticator app (the QR code scans), sign in with
 * a code, fall back on backup codes, turn it off. Every refusal is checked by what the user sees
 * (status, error code, what still works afterwards), plus the audit rows and the mails.
 *
 * Codes are computed from a step fixed at the start of each test, after waiting (if needed) until
 * enough of that 30 s step is left, so no code changes meaning mid-test. The service refuses any
 * step at or before the last one it accepted, so a test spends its steps in order: the enrolment
 * uses step - 1, the first sign-in step, the next use step + 1.
 */

// The e2e project's `testTimeout` (jest.config.js) does not reach jest-circus, which uses the
// global 5 s default; a test here may wait up to 8 s for a TOTP step with time left, plus mail.
jest.setTimeout(60_000);

const API = '/api/v1';
const ACCESS_COOKIE = 'retailer_access_token';
const REFRESH_COOKIE = 'retailer_refresh_token';
const CSRF_COOKIE = 'csrf_token';

function expectError(res: Response, status: number, code: string): void {
  expect({ status: res.status, success: res.body?.success, code: res.body?.error?.code }).toEqual({ status, success: false, code });
}

function setCookieNames(res: Response): string[] {
  const lines = [res.headers['set-cookie'] ?? []].flat() as string[];
  return lines.map((line) => line.split('=')[0]);
}

function me(instance: TestInstance, token: string) {
  return request(instance.http).get(`${API}/auth/me`).set('Authorization', `Bearer ${token}`);
}

function passwordLogin(instance: TestInstance, email: string, password = STRONG_PASSWORD) {
  return request(instance.http).post(`${API}/auth/login`).send({ email, password });
}

function enable(instance: TestInstance, token: string, body: Record<string, unknown>) {
  return request(instance.http).post(`${API}/auth/mfa/totp/enable`).set('Authorization', `Bearer ${token}`).send(body);
}

function disable(instance: TestInstance, token: string, body: Record<string, unknown>) {
  return request(instance.http).delete(`${API}/auth/mfa/totp`).set('Authorization', `Bearer ${token}`).send(body);
}

function regenerate(instance: TestInstance, token: string, body: Record<string, unknown>) {
  return request(instance.http).post(`${API}/auth/mfa/backup-codes`).set('Authorization', `Bearer ${token}`).send(body);
}

async function auditEvents(instance: TestInstance, token: string, event: string): Promise<Array<Record<string, any>>> {
  const res = await request(instance.http).get(`${API}/audit-logs?event=${event}&limit=200`).set('Authorization', `Bearer ${token}`).expect(200);
  return res.body.data.items;
}

/** A full sign-in through the challenge: login, then verify; answers the verify response. */
async function signInWith(instance: TestInstance, email: string, method: string, code: string): Promise<Response> {
  const mfaToken = await startMfaChallenge(instance, email);
  return verifyMfa(instance, { mfaToken, method, code });
}

function dataSourceOf(instance: TestInstance): DataSource {
  return instance.app.get<DataSource>(getDataSourceToken());
}

describe('TOTP second factor', () => {
  let instance: TestInstance;
  beforeAll(async () => {
    instance = await startInstance();
  });
  afterAll(() => instance?.close());

  describe('setup', () => {
    it('answers a base32 secret, its otpauth URI (issuer, account email) and a PNG QR code', async () => {
      const owner = await registerOwner(instance);
      const session = await login(instance, owner.email);
      const res = await request(instance.http).post(`${API}/auth/mfa/totp/setup`).set('Authorization', `Bearer ${session.token}`).expect(200);
      expect(res.body.success).toBe(true);
      expect(res.body.data).toEqual({
        secret: expect.stringMatching(/^[A-Z2-7]{16,}=*$/),
        otpauthUri: expect.stringMatching(/^otpauth:\/\/totp\//),
        qrCodeDataUrl: expect.stringMatching(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/),
      });
      const { secret, otpauthUri } = res.body.data;
      expect(base32Decode(secret).length).toBeGreaterThanOrEqual(10); // at least 80 bits (RFC 4226)

      const uri = new URL(otpauthUri);
      const label = decodeURIComponent(uri.pathname.replace(/^\//, ''));
      expect(label).toContain(owner.email);
      expect(uri.searchParams.get('secret')).toBe(secret);
      const issuer = uri.searchParams.get('issuer');
      expect(issuer).toBe(instance.config.auth.totpIssuer);
      expect(label.startsWith(`${issuer}:`)).toBe(true);
    });

    it('gives a QR code that scans to exactly the otpauth URI', async () => {
      const owner = await registerOwner(instance);
      const session = await login(instance, owner.email);
      const setup = await setupTotp(instance, session.token);
      expect(decodeQrDataUrl(setup.qrCodeDataUrl)).toBe(setup.otpauthUri);
    });

    it('needs a signed-in user', async () => {
      const res = await request(instance.http).post(`${API}/auth/mfa/totp/setup`);
      expectError(res, 401, 'TOKEN_MISSING');
    });

    it('does not turn anything on by itself, and a second setup replaces the first secret', async () => {
      const owner = await registerOwner(instance);
      const session = await login(instance, owner.email);
      const first = await setupTotp(instance, session.token);
      const second = await setupTotp(instance, session.token);
      expect(second.secret).not.toBe(first.secret);

      // Still signs in with the password alone.
      const direct = await passwordLogin(instance, owner.email).expect(200);
      expect(direct.body.data.token).toEqual(expect.any(String));

      const step = await stepWithTimeLeft();
      expectError(await enable(instance, session.token, { code: await totpCodeAt(first.secret, step) }), 401, 'MFA_INVALID_CODE');
      await enable(instance, session.token, { code: await totpCodeAt(second.secret, step) }).expect(200);
    });
  });

  describe('enable', () => {
    it('refuses a wrong code with 401 MFA_INVALID_CODE and leaves TOTP off', async () => {
      const owner = await registerOwner(instance);
      const session = await login(instance, owner.email);
      const setup = await setupTotp(instance, session.token);
      const step = await stepWithTimeLeft();

      expectError(await enable(instance, session.token, { code: await wrongTotpCode(setup.secret, step) }), 401, 'MFA_INVALID_CODE');

      const direct = await passwordLogin(instance, owner.email).expect(200);
      expect(direct.body.data.mfaRequired).toBeUndefined();
      expect(direct.body.data.token).toEqual(expect.any(String));
      expect((await me(instance, session.token).expect(200)).body.data.user.mfa).toEqual({ totp: false, emailOtp: false });
    });

    it('with a real code answers 200 with 10 distinct backup codes, and TOTP is on', async () => {
      const owner = await registerOwner(instance);
      const session = await login(instance, owner.email);
      const setup = await setupTotp(instance, session.token);
      const step = await stepWithTimeLeft();

      const res = await enable(instance, session.token, { code: await totpCodeAt(setup.secret, step) }).expect(200);
      expect(res.body).toEqual({ success: true, data: { backupCodes: expect.any(Array) } });
      const codes: string[] = res.body.data.backupCodes;
      expect(codes).toHaveLength(10);
      expect(new Set(codes).size).toBe(10);
      for (const code of codes) expect(code).toMatch(/^[0-9A-Z]{5}-[0-9A-Z]{5}$/);

      expect((await me(instance, session.token).expect(200)).body.data.user.mfa.totp).toBe(true);
      const challenge = await passwordLogin(instance, owner.email).expect(200);
      expect(challenge.body.data.mfaRequired).toBe(true);
    });

    it('accepts the code of one step back (-30 s) but not two steps back or two ahead', async () => {
      const owner = await registerOwner(instance);
      const session = await login(instance, owner.email);
      const setup = await setupTotp(instance, session.token);
      const step = await stepWithTimeLeft();

      expectError(await enable(instance, session.token, { code: await totpCodeAt(setup.secret, step - 2) }), 401, 'MFA_INVALID_CODE');
      expectError(await enable(instance, session.token, { code: await totpCodeAt(setup.secret, step + 2) }), 401, 'MFA_INVALID_CODE');
      await enable(instance, session.token, { code: await totpCodeAt(setup.secret, step - 1) }).expect(200);
    });

    it('refuses a second setup while TOTP is on with 409 CONFLICT, and the factor keeps working', async () => {
      const user = await registerOwnerWithTotp(instance);
      const res = await request(instance.http).post(`${API}/auth/mfa/totp/setup`).set('Authorization', `Bearer ${user.token}`);
      expectError(res, 409, 'CONFLICT');
      // The refused setup did not replace the secret in use.
      const verified = await signInWith(instance, user.owner.email, 'totp', await totpCodeAt(user.secret, user.step));
      expect(verified.status).toBe(200);
    });

    it('refuses enable without a setup first with 409 CONFLICT', async () => {
      const owner = await registerOwner(instance);
      const session = await login(instance, owner.email);
      expectError(await enable(instance, session.token, { code: '123456' }), 409, 'CONFLICT');
      await passwordLogin(instance, owner.email).expect(200);
    });

    it('refuses enable again while TOTP is on with 409 CONFLICT', async () => {
      const user = await registerOwnerWithTotp(instance);
      expectError(await enable(instance, user.token, { code: await totpCodeAt(user.secret, user.step) }), 409, 'CONFLICT');
    });

    it('refuses a malformed or absent code with 400 VALIDATION_FAILED', async () => {
      const owner = await registerOwner(instance);
      const session = await login(instance, owner.email);
      await setupTotp(instance, session.token);
      for (const body of [{}, { code: '12345' }, { code: '1234567' }, { code: 'abcdef' }, { code: 123456 }, { code: '123456', extra: 1 }]) {
        const res = await enable(instance, session.token, body);
        expect({ body, status: res.status, code: res.body.error?.code }).toEqual({ body, status: 400, code: 'VALIDATION_FAILED' });
      }
    });
  });

  describe('secrets at rest', () => {
    it('stores neither the TOTP secret nor the backup codes in clear', async () => {
      const owner = await registerOwner(instance);
      const session = await login(instance, owner.email);
      const ds = dataSourceOf(instance);
      const forms = (secret: string) => {
        const raw = base32Decode(secret);
        return [secret, secret.toLowerCase(), raw.toString('hex'), raw.toString('base64'), raw.toString('base64url')];
      };

      // Pending (after setup) ...
      const setup = await setupTotp(instance, session.token);
      const [pending] = await ds.query('SELECT * FROM users WHERE id = $1', [owner.userId]);
      expect(pending.totp_pending_secret).toEqual(expect.any(String));
      for (const form of forms(setup.secret)) expect(JSON.stringify(pending)).not.toContain(form);

      // ... and active (after enable).
      const step = await stepWithTimeLeft();
      const enabled = await enable(instance, session.token, { code: await totpCodeAt(setup.secret, step) }).expect(200);
      const [row] = await ds.query('SELECT * FROM users WHERE id = $1', [owner.userId]);
      expect(row.totp_secret).toEqual(expect.any(String));
      expect(row.totp_enabled_at).not.toBeNull();
      for (const form of forms(setup.secret)) expect(JSON.stringify(row)).not.toContain(form);

      const codes: string[] = enabled.body.data.backupCodes;
      const stored = await ds.query('SELECT * FROM backup_codes WHERE user_id = $1', [owner.userId]);
      expect(stored).toHaveLength(10);
      const dump = JSON.stringify(stored).toUpperCase();
      for (const code of codes) {
        expect(dump).not.toContain(code);
        expect(dump).not.toContain(code.replace('-', ''));
      }
    });
  });

  describe('sign-in with TOTP on', () => {
    it('answers login with a 200 challenge and sets no session cookie', async () => {
      const user = await registerOwnerWithTotp(instance);
      const res = await passwordLogin(instance, user.owner.email).expect(200);
      expect(res.body).toEqual({
        success: true,
        data: { mfaRequired: true, mfaToken: expect.any(String), methods: ['totp', 'backup_code'], expiresAt: expect.stringMatching(/Z$/) },
      });
      expect(new Date(res.body.data.expiresAt).getTime()).toBeGreaterThan(Date.now());
      const names = setCookieNames(res);
      expect(names).not.toContain(ACCESS_COOKIE);
      expect(names).not.toContain(REFRESH_COOKIE);
    });

    it('signs in with a current code exactly like a password login, with audit rows', async () => {
      const user = await registerOwnerWithTotp(instance);
      const mfaToken = await startMfaChallenge(instance, user.owner.email);
      const res = await verifyMfa(instance, { mfaToken, method: 'totp', code: await totpCodeAt(user.secret, user.step) }).expect(200);

      expect(res.body).toEqual({
        success: true,
        data: {
          token: expect.any(String),
          expiresAt: expect.stringMatching(/Z$/),
          refreshToken: expect.any(String),
          refreshExpiresAt: expect.stringMatching(/Z$/),
          user: expect.objectContaining({ id: user.owner.userId, email: user.owner.email }),
        },
      });
      expect(setCookieNames(res)).toEqual(expect.arrayContaining([ACCESS_COOKIE, REFRESH_COOKIE, CSRF_COOKIE]));

      const token: string = res.body.data.token;
      const who = await me(instance, token).expect(200);
      expect(who.body.data).toMatchObject({ role: 'owner', user: { email: user.owner.email, mfa: { totp: true } } });
      await request(instance.http).post(`${API}/auth/refresh`).send({ refreshToken: res.body.data.refreshToken }).expect(200);

      const verified = await auditEvents(instance, token, 'mfa_verify_success');
      expect(verified).toHaveLength(1);
      expect(verified[0]).toMatchObject({ actorType: 'user', actorId: user.owner.userId, status: 'success', metadata: { method: 'totp' } });
      const logins = await auditEvents(instance, token, 'login_success');
      expect(logins.filter((r) => r.metadata?.method === 'mfa')).toHaveLength(1);
    });

    it('refuses a method the user does not have (email_otp) with 400 VALIDATION_FAILED, and the challenge still works', async () => {
      const user = await registerOwnerWithTotp(instance);
      const mfaToken = await startMfaChallenge(instance, user.owner.email);
      const res = await verifyMfa(instance, { mfaToken, method: 'email_otp', code: '123456' });
      expectError(res, 400, 'VALIDATION_FAILED');
      await verifyMfa(instance, { mfaToken, method: 'totp', code: await totpCodeAt(user.secret, user.step) }).expect(200);
    });

    it('refuses malformed or absent fields with 400 VALIDATION_FAILED without spending the challenge', async () => {
      const user = await registerOwnerWithTotp(instance);
      const mfaToken = await startMfaChallenge(instance, user.owner.email);
      const good = await totpCodeAt(user.secret, user.step);
      const cases: Array<Record<string, unknown>> = [
        { mfaToken, method: 'totp' },
        { mfaToken, method: 'totp', code: '' },
        { mfaToken, method: 'totp', code: 123456 },
        { mfaToken, method: 'totp', code: [good] },
        { mfaToken, method: 'totp', code: '1'.repeat(33) },
        { mfaToken, method: 'sms', code: good },
        { mfaToken, code: good },
        { method: 'totp', code: good },
        { mfaToken, method: 'totp', code: good, remember: true },
      ];
      for (const body of cases) {
        const res = await verifyMfa(instance, body);
        expect({ body, status: res.status, code: res.body.error?.code }).toEqual({ body, status: 400, code: 'VALIDATION_FAILED' });
      }
      // Nine refusals above, yet the challenge (it dies after 5 wrong codes) is intact and the code unspent.
      await verifyMfa(instance, { mfaToken, method: 'totp', code: good }).expect(200);
    });

    it('accepts the code of one step back (-30 s), refuses two steps back and two steps ahead with MFA_INVALID_CODE', async () => {
      const user = await registerOwnerWithTotp(instance);
      // Enrolled a while ago: the step last accepted (the enrolment's) is minutes old.
      const step = await stepWithTimeLeft();
      await dataSourceOf(instance).query('UPDATE users SET totp_last_step = $2 WHERE id = $1', [user.owner.userId, step - 10]);

      const mfaToken = await startMfaChallenge(instance, user.owner.email);
      expectError(await verifyMfa(instance, { mfaToken, method: 'totp', code: await totpCodeAt(user.secret, step - 2) }), 401, 'MFA_INVALID_CODE');
      expectError(await verifyMfa(instance, { mfaToken, method: 'totp', code: await totpCodeAt(user.secret, step + 2) }), 401, 'MFA_INVALID_CODE');
      await verifyMfa(instance, { mfaToken, method: 'totp', code: await totpCodeAt(user.secret, step - 1) }).expect(200);
    });
  });

  describe('the mfaToken', () => {
    it('is not an access token: refused at /auth/me as Bearer and as the access cookie', async () => {
      const user = await registerOwnerWithTotp(instance);
      const mfaToken = await startMfaChallenge(instance, user.owner.email);
      expectError(await me(instance, mfaToken), 401, 'TOKEN_INVALID');
      expectError(await request(instance.http).get(`${API}/auth/me`).set('Cookie', `${ACCESS_COOKIE}=${mfaToken}`), 401, 'TOKEN_INVALID');
      // Neither attempt spent it.
      await verifyMfa(instance, { mfaToken, method: 'totp', code: await totpCodeAt(user.secret, user.step) }).expect(200);
    });

    it('works once: after a successful verify it is 401 TOKEN_INVALID, even with a fresh valid code', async () => {
      const user = await registerOwnerWithTotp(instance);
      const mfaToken = await startMfaChallenge(instance, user.owner.email);
      await verifyMfa(instance, { mfaToken, method: 'totp', code: await totpCodeAt(user.secret, user.step) }).expect(200);
      expectError(await verifyMfa(instance, { mfaToken, method: 'totp', code: await totpCodeAt(user.secret, user.step + 1) }), 401, 'TOKEN_INVALID');
      expectError(await verifyMfa(instance, { mfaToken, method: 'backup_code', code: user.backupCodes[0] }), 401, 'TOKEN_INVALID');
      // The backup code refused above was not spent.
      await signInWith(instance, user.owner.email, 'backup_code', user.backupCodes[0]).then((r) => expect(r.status).toBe(200));
    });

    it('refuses garbage with 401 TOKEN_INVALID', async () => {
      const res = await verifyMfa(instance, { mfaToken: 'not.a.token', method: 'totp', code: '123456' });
      expectError(res, 401, 'TOKEN_INVALID');
    });
  });

  describe('replay', () => {
    it('accepts a TOTP code once: the same code on a new challenge is 401 MFA_INVALID_CODE', async () => {
      const user = await registerOwnerWithTotp(instance);
      const code = await totpCodeAt(user.secret, user.step);
      expect((await signInWith(instance, user.owner.email, 'totp', code)).status).toBe(200);
      expectError(await signInWith(instance, user.owner.email, 'totp', code), 401, 'MFA_INVALID_CODE');
      // The enrolment's code (one step older) does not sign in either.
      expectError(await signInWith(instance, user.owner.email, 'totp', await totpCodeAt(user.secret, user.step - 1)), 401, 'MFA_INVALID_CODE');
      // The next step's code, never used, does.
      expect((await signInWith(instance, user.owner.email, 'totp', await totpCodeAt(user.secret, user.step + 1))).status).toBe(200);
    });
  });

  describe('backup codes', () => {
    it('sign in once each; accepted in lower case and without the dash', async () => {
      const user = await registerOwnerWithTotp(instance);
      const [first, second, third] = user.backupCodes;

      const res = await signInWith(instance, user.owner.email, 'backup_code', first);
      expect(res.status).toBe(200);
      await me(instance, res.body.data.token).expect(200);
      expectError(await signInWith(instance, user.owner.email, 'backup_code', first), 401, 'MFA_INVALID_CODE');

      expect((await signInWith(instance, user.owner.email, 'backup_code', second.toLowerCase())).status).toBe(200);
      expect((await signInWith(instance, user.owner.email, 'backup_code', third.replace('-', ''))).status).toBe(200);
      // The lower-case and dashless forms were the same codes: spent too.
      expectError(await signInWith(instance, user.owner.email, 'backup_code', second), 401, 'MFA_INVALID_CODE');
    });

    it('are not TOTP codes and TOTP codes are not backup codes', async () => {
      const user = await registerOwnerWithTotp(instance);
      expectError(await signInWith(instance, user.owner.email, 'totp', user.backupCodes[0]), 401, 'MFA_INVALID_CODE');
      expectError(await signInWith(instance, user.owner.email, 'backup_code', await totpCodeAt(user.secret, user.step)), 401, 'MFA_INVALID_CODE');
      // Both still usable the right way.
      expect((await signInWith(instance, user.owner.email, 'backup_code', user.backupCodes[0])).status).toBe(200);
      expect((await signInWith(instance, user.owner.email, 'totp', await totpCodeAt(user.secret, user.step))).status).toBe(200);
    });

    it('regenerating (with a TOTP code) retires the old set and the new set works; a wrong code changes nothing', async () => {
      const user = await registerOwnerWithTotp(instance);
      const old = user.backupCodes;

      expectError(await regenerate(instance, user.token, { code: await wrongTotpCode(user.secret, user.step) }), 401, 'MFA_INVALID_CODE');
      expect((await signInWith(instance, user.owner.email, 'backup_code', old[0])).status).toBe(200);

      const res = await regenerate(instance, user.token, { code: await totpCodeAt(user.secret, user.step) }).expect(200);
      const fresh: string[] = res.body.data.backupCodes;
      expect(fresh).toHaveLength(10);
      expect(new Set(fresh).size).toBe(10);
      expect(fresh.filter((c) => old.includes(c))).toEqual([]);

      expectError(await signInWith(instance, user.owner.email, 'backup_code', old[1]), 401, 'MFA_INVALID_CODE');
      expect((await signInWith(instance, user.owner.email, 'backup_code', fresh[0])).status).toBe(200);
    });

    it('regenerating needs a 6-digit TOTP code (400) and a signed-in user (401)', async () => {
      const user = await registerOwnerWithTotp(instance);
      expectError(await regenerate(instance, user.token, {}), 400, 'VALIDATION_FAILED');
      expectError(await regenerate(instance, user.token, { code: user.backupCodes[0] }), 400, 'VALIDATION_FAILED');
      expectError(await request(instance.http).post(`${API}/auth/mfa/backup-codes`).send({ code: '123456' }), 401, 'TOKEN_MISSING');
    });
  });

  describe('wrong codes', () => {
    it('kill the challenge after 5: the 6th attempt, even with the right code, is 401 TOKEN_INVALID', async () => {
      const user = await registerOwnerWithTotp(instance);
      const mfaToken = await startMfaChallenge(instance, user.owner.email);
      const wrong = await wrongTotpCode(user.secret, user.step);
      for (let attempt = 1; attempt <= 5; attempt++) {
        expectError(await verifyMfa(instance, { mfaToken, method: 'totp', code: wrong }), 401, 'MFA_INVALID_CODE');
      }
      expectError(await verifyMfa(instance, { mfaToken, method: 'totp', code: await totpCodeAt(user.secret, user.step) }), 401, 'TOKEN_INVALID');
      expectError(await verifyMfa(instance, { mfaToken, method: 'backup_code', code: user.backupCodes[0] }), 401, 'TOKEN_INVALID');

      const failures = await auditEvents(instance, user.token, 'mfa_verify_failure');
      expect(failures).toHaveLength(5);
      for (const row of failures) {
        expect(row).toMatchObject({ actorType: 'user', actorId: user.owner.userId, status: 'failure', reason: 'MFA_INVALID_CODE', metadata: { method: 'totp' } });
      }
    });

    it('kill the challenge after 5 even when sent all at once: no more than 5 of 20 simultaneous codes are checked', async () => {
      const user = await registerOwnerWithTotp(instance);
      const mfaToken = await startMfaChallenge(instance, user.owner.email);
      const wrong = await wrongTotpCode(user.secret, user.step);
      const answers = await Promise.all(Array.from({ length: 20 }, () => verifyMfa(instance, { mfaToken, method: 'totp', code: wrong })));
      const outcomes = answers.map((r) => `${r.status} ${r.body.error?.code}`);
      // Each answer is a checked code (MFA_INVALID_CODE), a dead challenge or a locked email.
      expect(outcomes.filter((o) => !['401 MFA_INVALID_CODE', '401 TOKEN_INVALID', '429 TOO_MANY_ATTEMPTS'].includes(o))).toEqual([]);
      const checked = outcomes.filter((o) => o === '401 MFA_INVALID_CODE').length;
      expect({ checked, failureRows: (await auditEvents(instance, user.token, 'mfa_verify_failure')).length }).toEqual({
        checked: expect.any(Number),
        failureRows: checked,
      });
      expect(checked).toBeLessThanOrEqual(5);
    });

    it('four wrong codes leave the challenge usable', async () => {
      const user = await registerOwnerWithTotp(instance);
      const mfaToken = await startMfaChallenge(instance, user.owner.email);
      const wrong = await wrongTotpCode(user.secret, user.step);
      for (let attempt = 1; attempt <= 4; attempt++) {
        expectError(await verifyMfa(instance, { mfaToken, method: 'totp', code: wrong }), 401, 'MFA_INVALID_CODE');
      }
      await verifyMfa(instance, { mfaToken, method: 'totp', code: await totpCodeAt(user.secret, user.step) }).expect(200);
    });
  });

  describe('disable', () => {
    it('needs a code (400), refuses a wrong one (401, still on), turns off with a valid one and deletes the backup codes', async () => {
      const user = await registerOwnerWithTotp(instance);

      expectError(await disable(instance, user.token, {}), 400, 'VALIDATION_FAILED');
      expectError(await disable(instance, user.token, { code: '' }), 400, 'VALIDATION_FAILED');
      expectError(await disable(instance, user.token, { code: await wrongTotpCode(user.secret, user.step) }), 401, 'MFA_INVALID_CODE');
      expect((await passwordLogin(instance, user.owner.email).expect(200)).body.data.mfaRequired).toBe(true);
      expect((await me(instance, user.token).expect(200)).body.data.user.mfa.totp).toBe(true);

      const res = await disable(instance, user.token, { code: await totpCodeAt(user.secret, user.step) }).expect(200);
      expect(res.body.success).toBe(true);

      const direct = await passwordLogin(instance, user.owner.email).expect(200);
      expect(direct.body.data.mfaRequired).toBeUndefined();
      expect(direct.body.data.token).toEqual(expect.any(String));
      expect((await me(instance, user.token).expect(200)).body.data.user.mfa.totp).toBe(false);
      const [{ n }] = await dataSourceOf(instance).query('SELECT count(*)::int AS n FROM backup_codes WHERE user_id = $1', [user.owner.userId]);
      expect(n).toBe(0);

      // Turned on again with a new secret: the old backup codes are gone for good.
      const again = await enableTotp(instance, user.token);
      expect(again.secret).not.toBe(user.secret);
      expectError(await signInWith(instance, user.owner.email, 'backup_code', user.backupCodes[1]), 401, 'MFA_INVALID_CODE');
      expect((await signInWith(instance, user.owner.email, 'backup_code', again.backupCodes[0])).status).toBe(200);
    });

    it('turns off with a backup code', async () => {
      const user = await registerOwnerWithTotp(instance);
      await disable(instance, user.token, { code: user.backupCodes[3] }).expect(200);
      const direct = await passwordLogin(instance, user.owner.email).expect(200);
      expect(direct.body.data.token).toEqual(expect.any(String));
    });

    it('answers 409 CONFLICT when TOTP is not on', async () => {
      const owner = await registerOwner(instance);
      const session = await login(instance, owner.email);
      expectError(await disable(instance, session.token, { code: '123456' }), 409, 'CONFLICT');
    });
  });

  describe('audit', () => {
    it('records turning on, regenerating, turning off and refused codes', async () => {
      const user = await registerOwnerWithTotp(instance);
      expectError(await signInWith(instance, user.owner.email, 'totp', await wrongTotpCode(user.secret, user.step)), 401, 'MFA_INVALID_CODE');
      await regenerate(instance, user.token, { code: await totpCodeAt(user.secret, user.step) }).expect(200);
      await disable(instance, user.token, { code: await totpCodeAt(user.secret, user.step + 1) }).expect(200);

      const expected = { actorType: 'user', actorId: user.owner.userId, retailerId: user.owner.retailerId, ip: '127.0.0.1' };
      for (const event of ['mfa_totp_enabled', 'mfa_backup_codes_regenerated', 'mfa_totp_disabled']) {
        const rows = await auditEvents(instance, user.token, event);
        expect({ event, rows }).toEqual({ event, rows: [expect.objectContaining({ ...expected, event, status: 'success' })] });
      }
      const failures = await auditEvents(instance, user.token, 'mfa_verify_failure');
      expect(failures).toEqual([expect.objectContaining({ ...expected, status: 'failure', reason: 'MFA_INVALID_CODE' })]);

      // No secret, code or backup code in any row.
      const everything = JSON.stringify((await request(instance.http).get(`${API}/audit-logs?limit=200`).set('Authorization', `Bearer ${user.token}`)).body);
      expect(everything).not.toContain(user.secret);
      for (const code of user.backupCodes) expect(everything).not.toContain(code);
    });
  });
});

describe('TOTP replay across two instances', () => {
  let a: TestInstance;
  let b: TestInstance;
  beforeAll(async () => {
    [a, b] = await Promise.all([startInstance(), startInstance()]);
  });
  afterAll(() => Promise.all([a?.close(), b?.close()]));

  it('refuses on instance B the code just accepted on instance A', async () => {
    const user = await registerOwnerWithTotp(a);
    const code = await totpCodeAt(user.secret, user.step);
    expect((await signInWith(a, user.owner.email, 'totp', code)).status).toBe(200);
    expectError(await signInWith(b, user.owner.email, 'totp', code), 401, 'MFA_INVALID_CODE');
    expect((await signInWith(b, user.owner.email, 'totp', await totpCodeAt(user.secret, user.step + 1))).status).toBe(200);
  });

  it('lets exactly one of two simultaneous uses of one code through', async () => {
    const user = await registerOwnerWithTotp(a);
    const code = await totpCodeAt(user.secret, user.step);
    const [ta, tb] = await Promise.all([startMfaChallenge(a, user.owner.email), startMfaChallenge(b, user.owner.email)]);
    const answers = await Promise.all([verifyMfa(a, { mfaToken: ta, method: 'totp', code }), verifyMfa(b, { mfaToken: tb, method: 'totp', code })]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401]);
  });
});

describe('TOTP wrong codes and the email lockout (LOGIN_MAX_ATTEMPTS=3)', () => {
  let instance: TestInstance;
  beforeAll(async () => {
    instance = await startInstance({ env: isolatedLimits({ LOGIN_MAX_ATTEMPTS: '3' }) });
  });
  afterAll(() => instance?.close());

  it('3 wrong MFA codes lock the email: the next password login is 429 TOO_MANY_ATTEMPTS with Retry-After', async () => {
    const user = await registerOwnerWithTotp(instance);
    const mfaToken = await startMfaChallenge(instance, user.owner.email);
    const wrong = await wrongTotpCode(user.secret, user.step);
    for (let attempt = 1; attempt <= 3; attempt++) {
      expectError(await verifyMfa(instance, { mfaToken, method: 'totp', code: wrong }), 401, 'MFA_INVALID_CODE');
    }

    const locked = await passwordLogin(instance, user.owner.email);
    expectError(locked, 429, 'TOO_MANY_ATTEMPTS');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);

    // The open challenge does not get around the lock, even with the right code.
    const res = await verifyMfa(instance, { mfaToken, method: 'totp', code: await totpCodeAt(user.secret, user.step) });
    expectError(res, 429, 'TOO_MANY_ATTEMPTS');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });

  // A stolen session must not get unlimited guesses at the codes that turn the factor off or mint
  // new backup codes: wrong codes there count toward the lockout, so the lockout must hold there too.
  it.each([
    ['DELETE /auth/mfa/totp', disable],
    ['POST /auth/mfa/backup-codes', regenerate],
  ])('wrong codes at %s count, and once the email is locked no more codes are tried there', async (_route, send) => {
    const user = await registerOwnerWithTotp(instance);
    const wrong = await wrongTotpCode(user.secret, user.step);
    for (let attempt = 1; attempt <= 3; attempt++) {
      expectError(await send(instance, user.token, { code: wrong }), 401, 'MFA_INVALID_CODE');
    }
    expectError(await passwordLogin(instance, user.owner.email), 429, 'TOO_MANY_ATTEMPTS');

    const res = await send(instance, user.token, { code: await totpCodeAt(user.secret, user.step) });
    expectError(res, 429, 'TOO_MANY_ATTEMPTS');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect((await me(instance, user.token).expect(200)).body.data.user.mfa.totp).toBe(true);
  });
});

describe('TOTP notification mails', () => {
  const current = useMailingInstance();

  it('mails the user when TOTP is turned on, backup codes are regenerated and TOTP is turned off', async () => {
    const { instance, mailbox } = current();
    const subject = /security settings/i;
    const owner = await registerOwner(instance);
    const session = await login(instance, owner.email);

    let after = mailbox.messages.length;
    const totp = await enableTotp(instance, session.token);
    const turnedOn = await mailbox.waitFor(owner.email, { subject, after });
    expect(turnedOn.text).toMatch(/authenticator app was turned on/i);

    after = mailbox.messages.length;
    const regenerated = await regenerate(instance, session.token, { code: await totpCodeAt(totp.secret, totp.step) }).expect(200);
    const newCodes = await mailbox.waitFor(owner.email, { subject, after });
    expect(newCodes.text).toMatch(/new backup codes/i);

    after = mailbox.messages.length;
    await disable(instance, session.token, { code: regenerated.body.data.backupCodes[0] }).expect(200);
    const turnedOff = await mailbox.waitFor(owner.email, { subject, after });
    expect(turnedOff.text).toMatch(/turned off/i);

    // The mails name the change, never the secret or a code.
    const mails = mailbox.messages.filter((m) => m.to.includes(owner.email));
    const text = mails.map((m) => `${m.subject}\n${m.text}\n${m.html ?? ''}`).join('\n');
    expect(text).not.toContain(totp.secret);
    for (const code of [...totp.backupCodes, ...regenerated.body.data.backupCodes]) expect(text).not.toContain(code);
  });

  it('sends nothing for a refused change', async () => {
    const { instance, mailbox } = current();
    const user = await registerOwnerWithTotp(instance);
    await mailbox.waitFor(user.owner.email, { subject: /security settings/i });
    const after = mailbox.messages.length;
    expectError(await disable(instance, user.token, { code: await wrongTotpCode(user.secret, user.step) }), 401, 'MFA_INVALID_CODE');
    expectError(await regenerate(instance, user.token, { code: await wrongTotpCode(user.secret, user.step) }), 401, 'MFA_INVALID_CODE');
    // Something that does mail, as a marker: whatever the refusals sent would arrive before it.
    await regenerate(instance, user.token, { code: await totpCodeAt(user.secret, user.step) }).expect(200);
    await mailbox.waitFor(user.owner.email, { subject: /security settings/i, after });
    const since = mailbox.messages.slice(after).filter((m) => m.to.includes(user.owner.email));
    expect(since).toHaveLength(1);
    expect(since[0].text).toMatch(/new backup codes/i);
  });
});
