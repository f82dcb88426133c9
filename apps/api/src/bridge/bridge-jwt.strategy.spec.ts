import { createHmac } from 'node:crypto';
import { loadAppConfig } from '@app/common/config';
import { ApiError } from '@app/common/errors';
import { KeyRing } from '../tokens/key-ring';
import { jwtStrategyOptions, TokenRejected } from '../tokens/jwt-strategy';
import { TokenService } from '../tokens/token.service';
import { BridgeJwtStrategy, bridgeTokenFromBody } from './bridge-jwt.strategy';
import type { HttpRequest } from '@app/common/http';

const SECRETS = {
  RETAILER_JWT_PRIVATE_KEY: 'unit-retailer-secret-0123456789abcdef0123',
  ADMIN_JWT_PRIVATE_KEY: 'unit-admin-secret-0123456789abcdef0123456',
  PORTAL_JWT_PRIVATE_KEY: 'unit-portal-secret-0123456789abcdef012345',
  BRIDGE_JWT_PRIVATE_KEY: 'unit-bridge-secret-0123456789abcdef012345',
  REACTIVATE_JWT_PRIVATE_KEY: 'unit-reactivate-secret-0123456789abcdef01',
  APP_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
};
const PREVIOUS = 'unit-bridge-previous-secret-0123456789abcdef';
const config = loadAppConfig({ NODE_ENV: 'test', ...SECRETS, BRIDGE_ALLOWED_ISSUERS: 'orders-service', BRIDGE_JWT_PREVIOUS_KEYS: PREVIOUS });
const keys = new KeyRing(config);

function hs256(header: object, payload: object, secret: string): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof ApiError ? err.code : String(err);
  }
}

describe('BridgeJwtStrategy', () => {
  const strategy = new BridgeJwtStrategy({ keys } as TokenService, config);
  const req = {} as HttpRequest;
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (over: Record<string, unknown> = {}) => ({ iss: 'orders-service', sub: 'r', uid: 'u', jti: 'j', iat: now(), exp: now() + 60, ...over });

  it('returns the claims of a good token', () => {
    const iat = now();
    expect(strategy.validate(req, claims({ iat, exp: iat + 300 }))).toEqual({ issuer: 'orders-service', jti: 'j', retailerId: 'r', userId: 'u', iat, exp: iat + 300 });
  });

  it('refuses exp - iat over 300 s, iat over 30 s ahead, an unlisted or own issuer, and missing claims (TOKEN_INVALID)', () => {
    const iat = now();
    expect(codeOf(() => strategy.validate(req, claims({ iat, exp: iat + 301 })))).toBe('TOKEN_INVALID');
    expect(codeOf(() => strategy.validate(req, claims({ iat: iat + 25, exp: iat + 60 })))).toBeUndefined();
    expect(codeOf(() => strategy.validate(req, claims({ iat: iat + 40, exp: iat + 60 })))).toBe('TOKEN_INVALID');
    expect(codeOf(() => strategy.validate(req, claims({ iss: 'billing-service' })))).toBe('TOKEN_INVALID');
    expect(codeOf(() => strategy.validate(req, claims({ iss: config.jwt.issuer })))).toBe('TOKEN_INVALID');
    for (const missing of ['iss', 'sub', 'uid', 'jti', 'iat', 'exp']) {
      expect({ missing, code: codeOf(() => strategy.validate(req, claims({ [missing]: undefined }))) }).toEqual({ missing, code: 'TOKEN_INVALID' });
    }
  });

  it('reads the token from the body only', () => {
    expect(bridgeTokenFromBody({ body: { token: 'abc' }, headers: { authorization: 'Bearer xyz' } } as unknown as HttpRequest)).toBe('abc');
    expect(bridgeTokenFromBody({ body: {}, headers: { authorization: 'Bearer xyz' } } as unknown as HttpRequest)).toBeNull();
    expect(bridgeTokenFromBody({ body: { token: 42 } } as unknown as HttpRequest)).toBeNull();
    expect(bridgeTokenFromBody({} as HttpRequest)).toBeNull();
  });
});

describe('jwtStrategyOptions with kidOptional (the bridge key provider)', () => {
  type KeyProvider = (req: HttpRequest, raw: string, done: (err: unknown, key?: unknown) => void) => void;
  const options = jwtStrategyOptions(keys, config, { types: ['bridge'], audience: 'bridge', fromRequest: bridgeTokenFromBody, kidOptional: true }) as unknown as {
    secretOrKeyProvider: KeyProvider;
  };
  const provide = (raw: string) =>
    new Promise<{ err: unknown; kid?: string }>((resolve) =>
      options.secretOrKeyProvider({} as HttpRequest, raw, (err: unknown, key?: unknown) => {
        resolve({ err, kid: key ? keys.keysOf('bridge').find((k) => k.key === key)?.kid : undefined });
      }),
    );
  const [current, previous] = keys.keysOf('bridge');

  it('without kid picks the current or the previous bridge key, whichever signed the token', async () => {
    expect(await provide(hs256({ alg: 'HS256', typ: 'JWT' }, claims(), SECRETS.BRIDGE_JWT_PRIVATE_KEY))).toEqual({ err: null, kid: current.kid });
    expect(await provide(hs256({ alg: 'HS256' }, claims(), PREVIOUS))).toEqual({ err: null, kid: previous.kid });
  });

  it('without kid refuses a token no bridge key signed (another type\'s secret included)', async () => {
    for (const secret of [SECRETS.RETAILER_JWT_PRIVATE_KEY, 'never-seen-secret-0123456789abcdef0123']) {
      const { err } = await provide(hs256({ alg: 'HS256' }, claims(), secret));
      expect(err).toBeInstanceOf(TokenRejected);
    }
  });

  it('with a kid uses that bridge key only, and refuses a kid of another type', async () => {
    expect(await provide(hs256({ alg: 'HS256', kid: previous.kid }, claims(), PREVIOUS))).toEqual({ err: null, kid: previous.kid });
    const retailerKid = keys.signingKey('retailer').kid;
    expect((await provide(hs256({ alg: 'HS256', kid: retailerKid }, claims(), SECRETS.RETAILER_JWT_PRIVATE_KEY))).err).toBeInstanceOf(TokenRejected);
  });

  function claims() {
    const iat = Math.floor(Date.now() / 1000);
    return { iss: 'orders-service', aud: ['bridge'], sub: 'r', uid: 'u', jti: 'j', iat, exp: iat + 60 };
  }
});
