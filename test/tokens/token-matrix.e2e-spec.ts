import request, { Response } from 'supertest';
import { bearer, impersonate, SignedInAdmin, signedInAdmin } from '../factories/admin.factory';
import { registerOwnerWithTotp, startMfaChallenge, totpStep, wrongTotpCode } from '../factories/mfa.factory';
import { cookieValue, LoggedIn, login, registerOwner, RegisteredOwner } from '../factories/retailer.factory';
import { createApiKey, CreatedApiKey, mintBridgeToken, portalToken, reactivateToken } from '../factories/tokens.factory';
import { expectCodeWithin, expectError, expectWorks } from '../support/expectations';
import { decodeJwt, forgeJwt, kidOf } from '../support/jwt-forge';
import type { TestMailbox } from '../support/mailbox';
import { hasRedis, startInstance, TEST_SECRETS, TestInstance } from '../support/test-app';
import { MailingInstance, startWithMailbox } from '../support/with-mailbox';

/**
 * A real credential of every kind, obtained over HTTP as its client obtains it, sent to every
 * guard: only the contract's combinations pass, every other one is 401 TOKEN_INVALID, however
 * valid the credential is elsewhere. Two instances share Postgres and Redis; the cells alternate
 * between them, so a credential issued on A is also proven on B. Then the cookies (each read by
 * its own guard only), a forged `act` claim, and revocation reaching the other instance within
 * 1 s (suspension, an ended impersonation).
 *
 * The two API key types are rows too: they are credentials sent as Bearer like the tokens, and
 * the key guards must refuse tokens as the token guards refuse keys.
 */

const ENV = {
  BRIDGE_ALLOWED_ISSUERS: 'orders-service',
  RATE_LIMIT_REGISTER_IP: '1000/1h',
  RATE_LIMIT_LOGIN_IP: '1000/15m',
  RATE_LIMIT_MAGIC_LINK_IP: '1000/15m',
  RATE_LIMIT_MFA_IP: '1000/15m',
};

const CREDENTIALS = ['retailer', 'admin', 'admin+act', 'portal', 'reactivate', 'bridge', 'mfa', 'reporting key', 'reactivate key'] as const;
type Credential = (typeof CREDENTIALS)[number];

const GUARDS = [
  'RetailerAuthGuard',
  'AdminAuthGuard',
  'PortalAuthGuard',
  'ReactivateAuthGuard',
  'ApiKeyAuthGuard',
  'ReactivateApiKeyGuard',
  'BridgeJwtStrategy',
  'MFA challenge',
] as const;
type Guard = (typeof GUARDS)[number];

/** The contract's only passing combinations. */
const PASSES: Record<Credential, readonly Guard[]> = {
  retailer: ['RetailerAuthGuard'],
  admin: ['AdminAuthGuard'],
  // "An admin token with act.sub also passes AdminAuthGuard" (Precise readings).
  'admin+act': ['RetailerAuthGuard', 'AdminAuthGuard'],
  portal: ['PortalAuthGuard'],
  reactivate: ['ReactivateAuthGuard'],
  bridge: ['BridgeJwtStrategy'],
  mfa: ['MFA challenge'],
  'reporting key': ['ApiKeyAuthGuard'],
  'reactivate key': ['ReactivateApiKeyGuard'],
};

/** How each guard is reached: header guards by Bearer, the bridge by its body `token`, the MFA challenge by `mfaToken`. */
const ENDPOINT: Record<Guard, string> = {
  RetailerAuthGuard: 'GET /api/v1/auth/me',
  AdminAuthGuard: 'GET /api/v1/admin/me',
  PortalAuthGuard: 'GET /api/v1/portal/me',
  ReactivateAuthGuard: 'GET /api/v1/reactivate/me',
  ApiKeyAuthGuard: 'GET /api/v1/reporting/me',
  ReactivateApiKeyGuard: 'GET /api/v1/reactivate/marketing/me',
  BridgeJwtStrategy: 'POST /api/v1/auth/bridge',
  'MFA challenge': 'POST /api/v1/auth/mfa/verify',
};

/** `code` for the MFA route when the credential is not the challenge (the token is refused before any code is looked at). */
const ANY_CODE = '000000';

function send(instance: TestInstance, guard: Guard, credential: string, mfaCode = ANY_CODE): request.Test {
  const [, path] = ENDPOINT[guard].split(' ');
  if (guard === 'BridgeJwtStrategy') return request(instance.http).post(path).send({ token: credential });
  if (guard === 'MFA challenge') return request(instance.http).post(path).send({ mfaToken: credential, method: 'totp', code: mfaCode });
  // Every header guard is reached by a GET.
  return request(instance.http).get(path).set('Authorization', `Bearer ${credential}`);
}

const nameOf = (credential: Credential) => (credential.endsWith(' key') ? credential : `${credential} token`);

interface Cell {
  credential: Credential;
  guard: Guard;
  passes: boolean;
  /** The instance the request goes to; every credential was obtained on A. */
  on: 'A' | 'B';
  title: string;
}

const CELLS: Cell[] = CREDENTIALS.flatMap((credential) => GUARDS.map((guard) => ({ credential, guard, passes: PASSES[credential].includes(guard) }))).map(
  (cell, index) => {
    const on = index % 2 === 0 ? 'A' : 'B';
    const outcome = !cell.passes ? 'TOKEN_INVALID' : cell.credential === 'mfa' ? 'accepted as a challenge (MFA_INVALID_CODE for a wrong code)' : 'accepted';
    return { ...cell, on, title: `${nameOf(cell.credential)} at ${cell.guard} → ${outcome} (instance ${on})` };
  },
);

const COOKIES = [
  { name: 'retailer_access_token', of: 'retailer', readBy: 'RetailerAuthGuard' },
  { name: 'admin_access_token', of: 'admin', readBy: 'AdminAuthGuard' },
  { name: 'portal_access_token', of: 'portal', readBy: 'PortalAuthGuard' },
] as const;
type CookieToken = (typeof COOKIES)[number]['of'];

interface CookieCell {
  token: CookieToken;
  cookie: string;
  guard: Guard;
  /** What the guard answers: accepted, or the error code. */
  outcome: 'accepted' | 'TOKEN_MISSING' | 'TOKEN_INVALID';
  on: 'A' | 'B';
  title: string;
}

/**
 * Each token in its own cookie at each cookie-reading guard, and each token in every other
 * guard's cookie at that guard. A guard reads only its own cookie (cookie-names.ts and each
 * strategy's `cookieName`): another type's cookie is no credential for it at all, so
 * TOKEN_MISSING, not TOKEN_INVALID; a foreign token in its own cookie is TOKEN_INVALID.
 */
const COOKIE_CELLS: CookieCell[] = COOKIES.flatMap((cookie) =>
  COOKIES.flatMap(({ of: token }) =>
    COOKIES.filter(({ readBy }) => token === cookie.of || readBy === cookie.readBy).map(({ readBy: guard }) => ({
      token,
      cookie: cookie.name,
      guard,
      outcome: (guard !== cookie.readBy ? 'TOKEN_MISSING' : token === cookie.of ? 'accepted' : 'TOKEN_INVALID') as CookieCell['outcome'],
    })),
  ),
).map((cell, index) => {
  const on = index % 2 === 0 ? 'B' : 'A';
  return { ...cell, on, title: `${cell.token} token in cookie ${cell.cookie} at ${cell.guard} → ${cell.outcome} (instance ${on})` };
});

const describeWithRedis = hasRedis() ? describe : describe.skip; // reason: two instances need Redis for revocation fan-out

describeWithRedis('every token type at every guard (two instances)', () => {
  let mailing: MailingInstance;
  let a: TestInstance;
  let b: TestInstance;
  let mailbox: TestMailbox;

  let owner: RegisteredOwner;
  let session: LoggedIn;
  let admin: SignedInAdmin;
  let impersonation: { id: string; token: string };
  let mfa: { token: string; secret: string };
  /** Every credential but the bridge token, which is single use and minted per request. */
  const held = {} as Record<Exclude<Credential, 'bridge'>, string>;
  let keys: { reporting: CreatedApiKey; reactivate: CreatedApiKey };

  const instance = (on: 'A' | 'B') => (on === 'A' ? a : b);
  const credentialOf = (credential: Credential): string => (credential === 'bridge' ? mintBridgeToken(owner) : held[credential]);

  beforeAll(async () => {
    mailing = await startWithMailbox({ env: ENV });
    ({ instance: a, mailbox } = mailing);
    // B's mail worker shares the outbox with A: it must deliver to the same mailbox.
    b = await startInstance({ env: { ...ENV, SMTP_URL: mailbox.url, MAIL_POLL_INTERVAL: '200ms' } });

    // The MFA owner may wait for a TOTP step with time left: let it overlap the rest.
    const mfaOwner = registerOwnerWithTotp(a).then(async (o) => ({ token: await startMfaChallenge(a, o.owner.email), secret: o.secret }));
    const signedIn = signedInAdmin(a, mailbox, { fullAccess: true });

    owner = await registerOwner(a);
    session = await login(a, owner.email);
    held.retailer = session.token;
    held.portal = await portalToken(a, session.token, b);
    held.reactivate = await reactivateToken(a, session.token);
    keys = { reporting: await createApiKey(a, session.token, 'reporting'), reactivate: await createApiKey(a, session.token, 'reactivate') };
    held['reporting key'] = keys.reporting.key;
    held['reactivate key'] = keys.reactivate.key;

    admin = await signedIn;
    held.admin = admin.token;
    impersonation = await impersonate(a, admin.token, owner.retailerId, 'token matrix');
    held['admin+act'] = impersonation.token;
    mfa = await mfaOwner;
    held.mfa = mfa.token;
  });
  afterAll(async () => {
    await b?.close();
    await mailing?.close();
  });

  /** What an accepted request answers: the principal the credential names, not just a 200. */
  function expectAccepted(cell: Pick<Cell, 'credential' | 'guard'>, res: Response): void {
    if (cell.credential === 'mfa') {
      // The challenge was opened: only the (wrong) code was refused.
      expectError(res, 401, 'MFA_INVALID_CODE');
      return;
    }
    expectWorks(res);
    const data = res.body.data;
    switch (cell.guard) {
      case 'RetailerAuthGuard':
        expect({ user: data.user?.id, retailer: data.retailer?.id }).toEqual({ user: owner.userId, retailer: owner.retailerId });
        if (cell.credential === 'admin+act') expect(data.impersonatedBy).toMatchObject({ adminId: admin.id, impersonationId: impersonation.id });
        else expect(data.impersonatedBy).toBeUndefined();
        break;
      case 'AdminAuthGuard':
        expect(data).toMatchObject({ admin: { id: admin.id, email: admin.email }, fullAccess: true });
        if (cell.credential === 'admin+act') expect(data.impersonating).toBe(owner.retailerId);
        else expect(data.impersonating).toBeUndefined();
        break;
      case 'PortalAuthGuard':
      case 'ReactivateAuthGuard':
        expect(data).toEqual({ retailerId: owner.retailerId, userId: owner.userId });
        break;
      case 'ApiKeyAuthGuard':
        expect(data).toEqual({ retailerId: owner.retailerId, keyId: keys.reporting.id, scopes: ['reporting:read'] });
        break;
      case 'ReactivateApiKeyGuard':
        expect(data).toEqual({ retailerId: owner.retailerId, keyId: keys.reactivate.id });
        break;
      case 'BridgeJwtStrategy':
        expect(data).toMatchObject({ token: expect.any(String), refreshToken: expect.any(String), user: { id: owner.userId } });
        break;
      case 'MFA challenge':
        throw new Error('only the mfa token passes the MFA challenge');
    }
  }

  describe('each credential at each guard', () => {
    it.each(CELLS.map((cell) => [cell.title, cell] as const))('%s', async (_title, cell) => {
      const at = instance(cell.on);
      const credential = credentialOf(cell.credential);
      if (!cell.passes) {
        expectError(await send(at, cell.guard, credential), 401, 'TOKEN_INVALID');
        return;
      }
      const code = cell.credential === 'mfa' ? await wrongTotpCode(mfa.secret, totpStep()) : ANY_CODE;
      expectAccepted(cell, await send(at, cell.guard, credential, code));
      // The bridge token of this cell was minted for it and is now spent: a second use, anywhere, is refused.
      if (cell.credential === 'bridge') expectError(await send(instance(cell.on === 'A' ? 'B' : 'A'), cell.guard, credential), 401, 'TOKEN_INVALID');
    });
  });

  describe('cookies: each guard reads its own cookie only', () => {
    it.each(COOKIE_CELLS.map((cell) => [cell.title, cell] as const))('%s', async (_title, cell) => {
      const token = cookieTokens()[cell.token];
      const [, path] = ENDPOINT[cell.guard].split(' ');
      const res = await request(instance(cell.on).http).get(path).set('Cookie', `${cell.cookie}=${token}`);
      if (cell.outcome === 'accepted') expectAccepted({ credential: cell.token, guard: cell.guard }, res);
      else expectError(res, 401, cell.outcome);
    });
  });

  /** The tokens as their Set-Cookie headers carry them (the portal cookie holds the exchanged token, see test/portal). */
  function cookieTokens(): Record<CookieToken, string> {
    const retailer = cookieValue(session.cookies, 'retailer_access_token');
    const adminCookie = cookieValue(admin.cookies, 'admin_access_token');
    expect({ retailer, admin: adminCookie }).toEqual({ retailer: session.token, admin: admin.token });
    return { retailer: retailer!, admin: adminCookie!, portal: held.portal };
  }

  describe('an act claim in a retailer token', () => {
    it("is ignored: /auth/me answers the retailer's own user with no impersonatedBy, and AdminAuthGuard still refuses it", async () => {
      const other = await registerOwner(a);
      const { header, payload } = decodeJwt(session.token);
      const secret = TEST_SECRETS.RETAILER_JWT_PRIVATE_KEY!;
      expect(header.kid).toBe(kidOf(secret));
      const withAct = forgeJwt({ header, payload: { ...payload, act: { sub: other.retailerId } }, secret });

      const res = await bearer(b, withAct).get('/auth/me');
      expectWorks(res);
      expect({ user: res.body.data.user.id, retailer: res.body.data.retailer.id, impersonatedBy: res.body.data.impersonatedBy }).toEqual({
        user: owner.userId,
        retailer: owner.retailerId,
        impersonatedBy: undefined,
      });
      expectError(await bearer(a, withAct).get('/admin/me'), 401, 'TOKEN_INVALID');
    });
  });

  describe('revocation reaches the other instance within 1 s', () => {
    it('suspending a retailer on A: its access, portal and reactivate tokens and both its API keys are TOKEN_REVOKED on B', async () => {
      const victim = await registerOwner(a);
      const victimSession = await login(a, victim.email);
      const victimPortal = await portalToken(a, victimSession.token);
      const victimReactivate = await reactivateToken(a, victimSession.token);
      const reporting = await createApiKey(a, victimSession.token, 'reporting');
      const marketing = await createApiKey(a, victimSession.token, 'reactivate');
      const checks: Array<[Guard, string]> = [
        ['RetailerAuthGuard', victimSession.token],
        ['PortalAuthGuard', victimPortal],
        ['ReactivateAuthGuard', victimReactivate],
        ['ApiKeyAuthGuard', reporting.key],
        ['ReactivateApiKeyGuard', marketing.key],
      ];
      // Each works on B first, so B has it cached (keys) or known as live (tokens).
      for (const [guard, credential] of checks) expect({ guard, status: (await send(b, guard, credential)).status }).toEqual({ guard, status: 200 });

      expectWorks(await bearer(a, admin.token).post(`/admin/retailers/${victim.retailerId}/suspend`, { reason: 'token matrix' }));
      await Promise.all(checks.map(([guard, credential]) => expectCodeWithin(() => send(b, guard, credential), 401, 'TOKEN_REVOKED')));
      for (const [guard, credential] of checks) expectError(await send(a, guard, credential), 401, 'TOKEN_REVOKED');
    });

    it('DELETE /admin/impersonations/:id on A: the impersonation token is TOKEN_REVOKED at /auth/me and /admin/me on B', async () => {
      const ended = await impersonate(a, admin.token, owner.retailerId, 'token matrix: to be ended');
      expectWorks(await bearer(b, ended.token).get('/auth/me'));
      expectWorks(await bearer(b, ended.token).get('/admin/me'));

      expectWorks(await bearer(a, admin.token).delete(`/admin/impersonations/${ended.id}`));
      await Promise.all([
        expectCodeWithin(() => bearer(b, ended.token).get('/auth/me'), 401, 'TOKEN_REVOKED'),
        expectCodeWithin(() => bearer(b, ended.token).get('/admin/me'), 401, 'TOKEN_REVOKED'),
      ]);
      // The admin's own token and the matrix's impersonation are untouched.
      expectWorks(await bearer(b, admin.token).get('/admin/me'));
      expectWorks(await bearer(b, impersonation.token).get('/auth/me'));
    });
  });
});
