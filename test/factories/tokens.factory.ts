import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { decodeJwt, forgeJwt, JwtHeader, kidOf } from '../support/jwt-forge';
import { TEST_SECRETS, TestInstance } from '../support/test-app';

/**
 * Real tokens of every type, obtained over HTTP as their clients obtain them (the bridge token,
 * which the service never issues, is minted as a sibling service mints it: docs/bridge-tokens.md).
 */

/** The issuer every bridge-minting suite allows (BRIDGE_ALLOWED_ISSUERS). */
export const BRIDGE_ISSUER = 'orders-service';

function ok(res: request.Response, status: number, what: string): any {
  if (res.status !== status) throw new Error(`${what} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data;
}

/** POST /portal/sso/handoff with a retailer (or impersonation) token at `handoffAt`, then /portal/sso/exchange at `exchangeAt`. */
export async function portalToken(handoffAt: TestInstance, retailerToken: string, exchangeAt: TestInstance = handoffAt): Promise<string> {
  const handoff = ok(await request(handoffAt.http).post('/api/v1/portal/sso/handoff').set('Authorization', `Bearer ${retailerToken}`), 200, 'portal handoff');
  const exchanged = ok(await request(exchangeAt.http).post('/api/v1/portal/sso/exchange').send({ code: handoff.code }), 200, 'portal exchange');
  return exchanged.token as string;
}

/** POST /reactivate/auth/token with a retailer token. */
export async function reactivateToken(instance: TestInstance, retailerToken: string): Promise<string> {
  const res = await request(instance.http).post('/api/v1/reactivate/auth/token').set('Authorization', `Bearer ${retailerToken}`);
  return ok(res, 200, 'reactivate token').token as string;
}

export interface CreatedApiKey {
  id: string;
  key: string;
}

/** POST /api-keys: a reporting key (`reporting:read`) or a reactivate key (`reactivate:marketing`). */
export async function createApiKey(instance: TestInstance, retailerToken: string, type: 'reporting' | 'reactivate'): Promise<CreatedApiKey> {
  const scopes = type === 'reporting' ? ['reporting:read'] : ['reactivate:marketing'];
  const res = await request(instance.http)
    .post('/api/v1/api-keys')
    .set('Authorization', `Bearer ${retailerToken}`)
    .send({ name: `${type} key`, type, scopes });
  const data = ok(res, 201, `create ${type} key`);
  return { id: data.id, key: data.key };
}

export interface BridgeMintOptions {
  /** Default: the bridge secret of TEST_SECRETS. */
  secret?: string;
  /** The `kid` header: default the kid of `secret`; null leaves it out (siblings may). */
  kid?: string | null;
  issuer?: string;
}

/** A bridge token as a sibling mints it (jsonwebtoken, HS256, 60 s, a fresh jti): single use, so mint one per exchange. */
export function mintBridgeToken(user: { retailerId: string; userId: string }, options: BridgeMintOptions = {}): string {
  const secret = options.secret ?? TEST_SECRETS.BRIDGE_JWT_PRIVATE_KEY!;
  const kid = options.kid === undefined ? kidOf(secret) : options.kid;
  const iat = Math.floor(Date.now() / 1000);
  const payload = { iss: options.issuer ?? BRIDGE_ISSUER, aud: ['bridge'], sub: user.retailerId, uid: user.userId, iat, exp: iat + 60, jti: randomUUID() };
  return jwt.sign(payload, secret, { algorithm: 'HS256', ...(kid === null ? {} : { keyid: kid }) });
}

/**
 * A real token's exact claims (and header, but for `kid`) signed again with another key: what a
 * holder of that key could make of the token. `kid` defaults to the kid of `secret`.
 */
export function resignedWith(token: string, secret: string, kid: string = kidOf(secret)): string {
  const { header, payload } = decodeJwt(token);
  const newHeader: JwtHeader = { ...header, kid };
  return forgeJwt({ header: newHeader, payload, secret });
}

/** POST /auth/refresh with the refresh token in the body (the raw response). */
export function refreshWith(instance: TestInstance, refreshToken: string) {
  return request(instance.http).post('/api/v1/auth/refresh').send({ refreshToken });
}
