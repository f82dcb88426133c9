import { createHash, randomUUID } from 'node:crypto';
import { sign } from 'jsonwebtoken';
import { BENCH_SECRETS, BRIDGE_ISSUER, Instance } from './instances';

export const PASSWORD = 'bench password that is long enough 42';

export interface Owner {
  email: string;
  userId: string;
  retailerId: string;
}

async function call(instance: Instance, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${instance.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

function expectStatus(res: { status: number; body: any }, status: number, what: string): any {
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data;
}

export async function registerOwner(instance: Instance, label: string): Promise<Owner> {
  const email = `${label}.${randomUUID().slice(0, 8)}@bench.example`;
  const data = expectStatus(await call(instance, 'POST', '/auth/register', { email, password: PASSWORD, name: 'Bench Owner', retailerName: 'Bench Shop' }), 201, 'register');
  return { email, userId: data.user.id, retailerId: data.retailer.id };
}

export async function login(instance: Instance, email: string): Promise<{ token: string; refreshToken: string }> {
  const data = expectStatus(await call(instance, 'POST', '/auth/login', { email, password: PASSWORD }), 200, 'login');
  return { token: data.token, refreshToken: data.refreshToken };
}

export async function createReportingKey(instance: Instance, token: string): Promise<string> {
  const data = expectStatus(await call(instance, 'POST', '/api-keys', { name: 'bench', type: 'reporting', scopes: ['reporting:read'] }, token), 201, 'create key');
  return data.key;
}

/** A bridge token as a sibling service mints it (single use, 60 s). */
export function bridgeToken(owner: Owner): string {
  const secret = Buffer.from(BENCH_SECRETS.BRIDGE_JWT_PRIVATE_KEY, 'utf8');
  const kid = createHash('sha256').update(secret).digest('hex').slice(0, 16);
  const now = Math.floor(Date.now() / 1000);
  return sign({ iss: BRIDGE_ISSUER, aud: ['bridge'], sub: owner.retailerId, uid: owner.userId, iat: now, exp: now + 60, jti: randomUUID() }, secret, {
    algorithm: 'HS256',
    keyid: kid,
  });
}

/** A new session without a password hash (what the revocation and refresh scenarios need many of). */
export async function bridgeSignIn(instance: Instance, owner: Owner): Promise<{ token: string; refreshToken: string }> {
  const data = expectStatus(await call(instance, 'POST', '/auth/bridge', { token: bridgeToken(owner) }), 200, 'bridge');
  return { token: data.token, refreshToken: data.refreshToken };
}

export async function bridgeSession(instance: Instance, owner: Owner): Promise<string> {
  return (await bridgeSignIn(instance, owner)).token;
}

export async function logout(instance: Instance, token: string): Promise<void> {
  expectStatus(await call(instance, 'POST', '/auth/logout', undefined, token), 200, 'logout');
}

/** The error code of GET /bench/retailer with the token (undefined when it is accepted). */
export async function guardedCode(instance: Instance, token: string): Promise<string | undefined> {
  const res = await call(instance, 'GET', '/bench/retailer', undefined, token);
  return res.status === 200 ? undefined : (res.body?.error?.code ?? String(res.status));
}
