import { Reflector } from '@nestjs/core';
import { GUARDS_METADATA } from '@nestjs/common/constants';
import { AUTH_POLICY } from '@app/common/auth';
import { loadAppConfig } from '@app/common/config';
import { ApiError } from '@app/common/errors';
import type { RoleChangesService } from '../roles/role-changes.service';
import type { RevocationService } from '../sessions/revocation.service';
import { KeyRing } from '../tokens/key-ring';
import type { TokenService } from '../tokens/token.service';
import { PortalAuth } from './portal-auth.decorator';
import { PortalAuthGuard } from './portal-auth.guard';
import { PortalJwtStrategy } from './portal-jwt.strategy';
import type { HttpRequest } from '@app/common/http';

const config = loadAppConfig({
  NODE_ENV: 'test',
  DATABASE_URL: 'postgres://unused',
  RETAILER_JWT_PRIVATE_KEY: 'unit-retailer-secret-0123456789abcdef0123',
  ADMIN_JWT_PRIVATE_KEY: 'unit-admin-secret-0123456789abcdef0123456',
  PORTAL_JWT_PRIVATE_KEY: 'unit-portal-secret-0123456789abcdef012345',
  BRIDGE_JWT_PRIVATE_KEY: 'unit-bridge-secret-0123456789abcdef012345',
  REACTIVATE_JWT_PRIVATE_KEY: 'unit-reactivate-secret-0123456789abcdef01',
  APP_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
});

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (err) {
    return err instanceof ApiError ? err.code : String(err);
  }
}

describe('PortalJwtStrategy.validate', () => {
  const revokedSessions = new Set<string>();
  const removedUsers = new Set<string>();
  const revocation = { isRevoked: (c: { sid?: unknown }) => typeof c.sid === 'string' && revokedSessions.has(c.sid) } as unknown as RevocationService;
  const roleChanges = { lookup: (uid: unknown) => (removedUsers.has(uid as string) ? { removed: true } : undefined) } as unknown as RoleChangesService;
  const strategy = new PortalJwtStrategy({ keys: new KeyRing(config) } as TokenService, config, revocation, roleChanges);
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: 'retailer-1', uid: 'user-1', sid: 'session-1', iss: config.jwt.issuer, aud: ['portal'], iat: now, exp: now + 60, jti: 'jti-1' };
  const req = (over: Partial<HttpRequest> = {}) => ({ method: 'GET', headers: {}, cookies: {}, authSource: 'bearer', ...over }) as unknown as HttpRequest;

  afterEach(() => {
    revokedSessions.clear();
    removedUsers.clear();
  });

  it('answers the portal principal of a well-formed token', () => {
    expect(strategy.validate(req(), claims)).toEqual({ kind: 'portal', retailerId: 'retailer-1', userId: 'user-1', sessionId: 'session-1', jti: 'jti-1', exp: now + 60 });
  });

  it('refuses a token without sub, uid or sid as strings, or from another issuer, with TOKEN_INVALID', () => {
    for (const claim of ['sub', 'uid', 'sid'] as const) {
      expect(codeOf(() => strategy.validate(req(), { ...claims, [claim]: undefined }))).toBe('TOKEN_INVALID');
      expect(codeOf(() => strategy.validate(req(), { ...claims, [claim]: 7 }))).toBe('TOKEN_INVALID');
    }
    expect(codeOf(() => strategy.validate(req(), { ...claims, iss: 'elsewhere' }))).toBe('TOKEN_INVALID');
  });

  it('refuses the token of a revoked session or a removed member with TOKEN_REVOKED', () => {
    revokedSessions.add('session-1');
    expect(codeOf(() => strategy.validate(req(), claims))).toBe('TOKEN_REVOKED');
    revokedSessions.clear();
    removedUsers.add('user-1');
    expect(codeOf(() => strategy.validate(req(), claims))).toBe('TOKEN_REVOKED');
  });

  it('reads revocations from the request\'s own instance (req.authContext) when there is one', () => {
    const mine = { revocation: { isRevoked: () => true }, config, roleChanges } as unknown as HttpRequest['authContext'];
    expect(codeOf(() => strategy.validate(req({ authContext: mine }), claims))).toBe('TOKEN_REVOKED');
  });

  it('requires the CSRF header on a cookie-authenticated unsafe request', () => {
    const cookieReq = (csrf?: string) =>
      req({ method: 'POST', authSource: 'cookie', cookies: { csrf_token: 'abc' }, headers: csrf ? { 'x-csrf-token': csrf } : {} });
    expect(codeOf(() => strategy.validate(cookieReq(), claims))).toBe('CSRF_FAILED');
    expect(codeOf(() => strategy.validate(cookieReq('abc'), claims))).toBeUndefined();
    expect(codeOf(() => strategy.validate(req({ method: 'POST' }), claims))).toBeUndefined();
  });
});

describe('PortalAuth()', () => {
  class Sample {
    @PortalAuth() me() {}
  }

  it('declares the portal policy and applies PortalAuthGuard', () => {
    const reflector = new Reflector();
    expect(reflector.get(AUTH_POLICY, Sample.prototype.me)).toBe('portal');
    expect(Reflect.getMetadata(GUARDS_METADATA, Sample.prototype.me)).toEqual([PortalAuthGuard]);
  });
});
