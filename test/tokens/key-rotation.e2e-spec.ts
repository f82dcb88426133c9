import request, { Response } from 'supertest';
import { adminMagicLinkToken, bearer, impersonate, SignedInAdmin, signedInAdmin, verifyAdminLink } from '../factories/admin.factory';
import { registerOwnerWithTotp, startMfaChallenge, totpCodeAt, verifyMfa } from '../factories/mfa.factory';
import { login, registerOwner, RegisteredOwner } from '../factories/retailer.factory';
import { mintBridgeToken, portalToken, reactivateToken, refreshWith, resignedWith } from '../factories/tokens.factory';
import { expectError, expectWorks } from '../support/expectations';
import { decodeJwt, kidOf } from '../support/jwt-forge';
import type { TestMailbox } from '../support/mailbox';
import { startInstance, TEST_SECRETS, TestInstance } from '../support/test-app';
import { MailingInstance, startWithMailbox } from '../support/with-mailbox';

/**
 * Rotating the signing key of each token type, as an operator does it: instance OLD signs with
 * K1; NEW (same database) signs with K2 and keeps K1 in `<TYPE>_JWT_PREVIOUS_KEYS`; NEWER signs
 * with K3 and keeps only K2. A token keeps working exactly as long as its key is current or
 * previous, new tokens carry the new `kid`, and a `kid` never lends its key to another signature
 * or another type.
 *
 * OLD runs with TEST_SECRETS, so K1 of every type is its TEST_SECRETS value; each type's NEW and
 * NEWER override that one type only, so every other type keeps its key and its tokens stay valid
 * there (the cross-type checks rely on that).
 *
 * The MFA challenge key is derived from the retailer key (unless MFA_JWT_PRIVATE_KEY is set), so
 * it rotates with it: a sign-in waiting on its second factor survives the retailer rotation.
 */

const ENV = {
  BRIDGE_ALLOWED_ISSUERS: 'orders-service',
  RATE_LIMIT_REGISTER_IP: '1000/1h',
  RATE_LIMIT_LOGIN_IP: '1000/15m',
  RATE_LIMIT_MAGIC_LINK_IP: '1000/15m',
  RATE_LIMIT_MFA_IP: '1000/15m',
};

const TYPES = ['retailer', 'admin', 'portal', 'reactivate', 'bridge'] as const;
type RotatedType = (typeof TYPES)[number];

const VARIABLE: Record<RotatedType, string> = {
  retailer: 'RETAILER_JWT_PRIVATE_KEY',
  admin: 'ADMIN_JWT_PRIVATE_KEY',
  portal: 'PORTAL_JWT_PRIVATE_KEY',
  reactivate: 'REACTIVATE_JWT_PRIVATE_KEY',
  bridge: 'BRIDGE_JWT_PRIVATE_KEY',
};
const previousVariable = (type: RotatedType) => VARIABLE[type].replace('_PRIVATE_KEY', '_PREVIOUS_KEYS');

/** Key generation n of a type: K1 is TEST_SECRETS' (OLD's); K2 and K3 are new, at least 32 bytes, distinct per type. */
function keyOf(type: RotatedType, generation: 1 | 2 | 3): string {
  return generation === 1 ? TEST_SECRETS[VARIABLE[type]]! : `${type}-rotated-key-generation-${generation}-0123456789abcdef`;
}

describe('signing-key rotation of every token type', () => {
  let mailing: MailingInstance;
  let old: TestInstance;
  let mailbox: TestMailbox;
  let owner: RegisteredOwner;
  /** A user of its own for bridge exchanges: each one opens a session, and MAX_SESSIONS_PER_USER would evict the owner's. */
  let bridgeUser: RegisteredOwner;
  let admin: SignedInAdmin;
  /** Real tokens issued by OLD (kid of K1), bridge aside (minted per use: single use). */
  const fromOld = {} as Record<Exclude<RotatedType, 'bridge'> | 'impersonation', string>;

  /** Every instance of this file mails through the same mailbox (they share the outbox). */
  function startWith(type: RotatedType, current: 1 | 2 | 3, previous: 1 | 2): Promise<TestInstance> {
    return startInstance({
      env: { ...ENV, SMTP_URL: mailbox.url, MAIL_POLL_INTERVAL: '200ms', [VARIABLE[type]]: keyOf(type, current), [previousVariable(type)]: keyOf(type, previous) },
    });
  }

  beforeAll(async () => {
    mailing = await startWithMailbox({ env: ENV });
    ({ instance: old, mailbox } = mailing);
    const signedIn = signedInAdmin(old, mailbox, { fullAccess: true });
    owner = await registerOwner(old);
    bridgeUser = await registerOwner(old);
    fromOld.retailer = (await login(old, owner.email)).token;
    fromOld.portal = await portalToken(old, fromOld.retailer);
    fromOld.reactivate = await reactivateToken(old, fromOld.retailer);
    admin = await signedIn;
    fromOld.admin = admin.token;
    fromOld.impersonation = (await impersonate(old, admin.token, owner.retailerId, 'key rotation')).token;
  });
  afterAll(() => mailing?.close());

  /** A real token of the type, as OLD issued it (a bridge token minted with `secret`, K1 by default). */
  function oldToken(type: RotatedType, secret = keyOf('bridge', 1)): string {
    return type === 'bridge' ? mintBridgeToken(bridgeUser, { secret }) : fromOld[type];
  }

  /** The request that presents a token of the type to its own guard. */
  function atGuard(type: RotatedType, at: TestInstance, token: string): request.Test {
    switch (type) {
      case 'retailer':
        return bearer(at, token).get('/auth/me');
      case 'admin':
        return bearer(at, token).get('/admin/me');
      case 'portal':
        return bearer(at, token).get('/portal/me');
      case 'reactivate':
        return bearer(at, token).get('/reactivate/me');
      case 'bridge':
        return request(at.http).post('/api/v1/auth/bridge').send({ token });
    }
  }

  /** Accepted, as the principal the token names. */
  function expectAccepted(type: RotatedType, res: Response): void {
    expectWorks(res);
    const data = res.body.data;
    const seen: Record<RotatedType, () => unknown> = {
      retailer: () => data.user.id,
      admin: () => data.admin.id,
      portal: () => data.userId,
      reactivate: () => data.userId,
      bridge: () => data.user.id,
    };
    const expected: Record<RotatedType, string> = { retailer: owner.userId, admin: admin.id, portal: owner.userId, reactivate: owner.userId, bridge: bridgeUser.userId };
    expect({ type, principal: seen[type]() }).toEqual({ type, principal: expected[type] });
  }

  const kidIn = (token: string) => decodeJwt(token).header.kid;

  for (const type of TYPES) {
    describe(`${type} tokens (${VARIABLE[type]})`, () => {
      let neu: TestInstance;
      let newer: TestInstance;
      const [k1, k2] = [keyOf(type, 1), keyOf(type, 2)];

      /**
       * A token of the type that NEW issues (kid of K2). The service never issues bridge tokens:
       * for them it is a sibling that has moved to K2.
       */
      async function newToken(): Promise<string> {
        switch (type) {
          case 'retailer':
            return (await login(neu, owner.email)).token;
          case 'admin': {
            const res = await verifyAdminLink(neu, await adminMagicLinkToken(neu, mailbox, admin.email));
            expectWorks(res);
            return res.body.data.token as string;
          }
          case 'portal':
            return portalToken(neu, fromOld.retailer);
          case 'reactivate':
            return reactivateToken(neu, fromOld.retailer);
          case 'bridge':
            return mintBridgeToken(bridgeUser, { secret: k2 });
        }
      }

      beforeAll(async () => {
        [neu, newer] = await Promise.all([startWith(type, 2, 1), startWith(type, 3, 2)]);
      });
      afterAll(async () => {
        await neu?.close();
        await newer?.close();
      });

      it(`OLD issues it under kid(K1), and it keeps working at NEW (${previousVariable(type)}=K1)`, async () => {
        expect(kidIn(oldToken(type))).toBe(kidOf(k1));
        expectAccepted(type, await atGuard(type, old, oldToken(type)));
        expectAccepted(type, await atGuard(type, neu, oldToken(type)));
      });

      it('NEW issues it under kid(K2); it works at NEW, and at OLD (which does not know K2) it is TOKEN_INVALID', async () => {
        const issued = await newToken();
        expect(kidIn(issued)).toBe(kidOf(k2));
        expectAccepted(type, await atGuard(type, neu, issued));
        expectError(await atGuard(type, old, type === 'bridge' ? await newToken() : issued), 401, 'TOKEN_INVALID');
      });

      it('NEWER (K3, previous K2 only) refuses the K1 token with TOKEN_INVALID and accepts the K2 token', async () => {
        expectError(await atGuard(type, newer, oldToken(type)), 401, 'TOKEN_INVALID');
        expectAccepted(type, await atGuard(type, newer, await newToken()));
      });

      it('refuses a kid that names one of its keys over a signature made with the other (K1 kid + K2 signature, and the reverse): TOKEN_INVALID at NEW', async () => {
        expectError(await atGuard(type, neu, resignedWith(oldToken(type), k2, kidOf(k1))), 401, 'TOKEN_INVALID');
        expectError(await atGuard(type, neu, resignedWith(await newToken(), k1, kidOf(k2))), 401, 'TOKEN_INVALID');
      });

      it(`its previous key K1 verifies no other type at NEW: each other type's real token, re-signed with it, is TOKEN_INVALID`, async () => {
        const results: Array<{ other: RotatedType; as: string; code: string | undefined }> = [];
        for (const other of TYPES.filter((t) => t !== type)) {
          // Control: the other type's key is unchanged at NEW, so its own token passes there.
          expectAccepted(other, await atGuard(other, neu, oldToken(other)));
          const attempts: Array<[string, string]> = [
            [`kid(${type} K1)`, resignedWith(oldToken(other), k1)],
            [`its own kid`, resignedWith(oldToken(other), k1, kidIn(oldToken(other)) as string)],
          ];
          // A bridge token without kid is tried against the bridge keys only.
          if (other === 'bridge') attempts.push(['no kid', mintBridgeToken(bridgeUser, { secret: k1, kid: null })]);
          for (const [as, token] of attempts) results.push({ other, as, code: (await atGuard(other, neu, token)).body?.error?.code });
        }
        expect(results).toEqual(results.map((r) => ({ ...r, code: 'TOKEN_INVALID' })));
      });

      if (type === 'admin') {
        it('an impersonation token (admin key, act.sub) from OLD works at NEW /auth/me and /admin/me and is TOKEN_INVALID at NEWER; one NEW issues has kid(K2)', async () => {
          for (const path of ['/auth/me', '/admin/me']) {
            expectWorks(await bearer(neu, fromOld.impersonation).get(path));
            expectError(await bearer(newer, fromOld.impersonation).get(path), 401, 'TOKEN_INVALID');
          }
          const fresh = await impersonate(neu, fromOld.admin, owner.retailerId, 'key rotation, after');
          expect(kidIn(fresh.token)).toBe(kidOf(k2));
          const res = await bearer(neu, fresh.token).get('/auth/me');
          expectWorks(res);
          expect(res.body.data.impersonatedBy).toMatchObject({ adminId: admin.id, impersonationId: fresh.id });
        });
      }

      if (type === 'bridge') {
        it('a kid-less token (siblings may omit kid) is tried against the current and previous keys: K1 and K2 work at NEW, K1 is TOKEN_INVALID at NEWER', async () => {
          expectAccepted('bridge', await atGuard('bridge', neu, mintBridgeToken(bridgeUser, { secret: k1, kid: null })));
          expectAccepted('bridge', await atGuard('bridge', neu, mintBridgeToken(bridgeUser, { secret: k2, kid: null })));
          expectError(await atGuard('bridge', newer, mintBridgeToken(bridgeUser, { secret: k1, kid: null })), 401, 'TOKEN_INVALID');
        });
      }

      if (type === 'retailer') {
        it('a sign-in waiting on its second factor at OLD finishes at NEW (the MFA challenge key rotates with the retailer key)', async () => {
          const mfaOwner = await registerOwnerWithTotp(old);
          const mfaToken = await startMfaChallenge(old, mfaOwner.owner.email);
          const verified = await verifyMfa(neu, { mfaToken, method: 'totp', code: await totpCodeAt(mfaOwner.secret, mfaOwner.step) });
          expectWorks(verified);
          expect(kidIn(verified.body.data.token)).toBe(kidOf(k2));
          // NEWER no longer knows K1, nor the challenge key derived from it.
          const again = await startMfaChallenge(old, mfaOwner.owner.email);
          expectError(await verifyMfa(newer, { mfaToken: again, method: 'totp', code: '000000' }), 401, 'TOKEN_INVALID');
        });

        it('signs nobody out: a session from OLD refreshes at NEW (same session, new kid), and its access token alone extends the session there', async () => {
          const before = await login(old, owner.email);
          expect(kidIn(before.token)).toBe(kidOf(k1));

          const refreshed = await refreshWith(neu, before.refreshToken);
          expectWorks(refreshed);
          const after = refreshed.body.data.token as string;
          expect({ kid: kidIn(after), sid: decodeJwt(after).payload.sid }).toEqual({ kid: kidOf(k2), sid: decodeJwt(before.token).payload.sid });
          expect(refreshed.body.data.refreshToken).not.toBe(before.refreshToken);
          expectAccepted('retailer', await bearer(neu, after).get('/auth/me'));

          // A tab holding only its access token: the live K1 token, as Bearer, extends the session under K2.
          const extended = await bearer(neu, before.token).post('/auth/refresh');
          expectWorks(extended);
          expect(kidIn(extended.body.data.token)).toBe(kidOf(k2));
          expectAccepted('retailer', await bearer(neu, extended.body.data.token).get('/auth/me'));
        });
      }
    });
  }
});
