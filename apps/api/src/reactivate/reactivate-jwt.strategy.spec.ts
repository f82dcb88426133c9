import { Reflector } from '@nestjs/core';
import { GUARDS_METADATA } from '@nestjs/common/constants';
import { AUTH_POLICY } from '@app/common/auth';
import { loadAppConfig } from '@app/common/config';
import { ApiError } from '@app/common/errors';
import type { RoleChangesService } from '../roles/role-changes.service';
import type { RevocationService } from '../sessions/revocation.service';
import { KeyRing } from '../tokens/key-ring';
import type { TokenService } from '../tokens/token.service';
import { ReactivateAuth } from './reactivate-auth.decorator';
import { ReactivateAuthGuard } from './reactivate-auth.guard';
import { ReactivateJwtStrategy } from './reactivate-jwt.strategy';
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

describe('ReactivateJwtStrategy', () => {
  const revokedSessions = new Set<string>();
  const revocation = { isRevoked: (c: { sid?: unknown }) => typeof c.sid === 'string' && revokedSessions.has(c.sid) } as unknown as RevocationService;
  const roleChanges = { lookup: () => undefined } as unknown as RoleChangesService;
  const strategy = new ReactivateJwtStrategy({ keys: new KeyRing(config) } as TokenService, config, revocation, roleChanges);
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: 'retailer-1', uid: 'user-1', sid: 'session-1', iss: config.jwt.issuer, aud: ['reactivate'], iat: now, exp: now + 60, jti: 'jti-1' };
  const req = (over: Partial<HttpRequest> = {}) => ({ method: 'GET', headers: {}, cookies: {}, ...over }) as unknown as HttpRequest;

  it('answers the reactivate principal of a well-formed token', () => {
    expect(strategy.validate(req({ authSource: 'bearer' }), claims)).toEqual({
      kind: 'reactivate',
      retailerId: 'retailer-1',
      userId: 'user-1',
      sessionId: 'session-1',
      jti: 'jti-1',
      exp: now + 60,
    });
  });

  it('refuses missing claims with TOKEN_INVALID and a revoked session with TOKEN_REVOKED', () => {
    for (const claim of ['sub', 'uid', 'sid'] as const) expect(codeOf(() => strategy.validate(req(), { ...claims, [claim]: null }))).toBe('TOKEN_INVALID');
    revokedSessions.add('session-1');
    expect(codeOf(() => strategy.validate(req(), claims))).toBe('TOKEN_REVOKED');
    revokedSessions.clear();
  });

  it('reads the token from Authorization: Bearer only, never from a cookie or the query string', () => {
    const extract = (strategy as unknown as { _jwtFromRequest: (r: HttpRequest) => string | null })._jwtFromRequest;
    expect(extract(req({ headers: { authorization: 'Bearer abc.def.ghi' } }))).toBe('abc.def.ghi');
    const cookies = { portal_access_token: 'x.y.z', retailer_access_token: 'x.y.z', reactivate_access_token: 'x.y.z' };
    expect(extract(req({ cookies, query: { token: 'x.y.z', access_token: 'x.y.z' } }))).toBeNull();
  });
});

describe('ReactivateAuth()', () => {
  class Sample {
    @ReactivateAuth() me() {}
  }

  it('declares the reactivate policy and applies ReactivateAuthGuard', () => {
    expect(new Reflector().get(AUTH_POLICY, Sample.prototype.me)).toBe('reactivate');
    expect(Reflect.getMetadata(GUARDS_METADATA, Sample.prototype.me)).toEqual([ReactivateAuthGuard]);
  });
});
