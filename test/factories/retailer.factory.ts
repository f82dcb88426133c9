import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { TestInstance } from '../support/test-app';

export const STRONG_PASSWORD = 'correct horse battery staple 42';

export function uniqueEmail(label = 'user'): string {
  return `${label}.${randomBytes(5).toString('hex')}@shop.example`;
}

export interface RegisteredOwner {
  email: string;
  password: string;
  userId: string;
  retailerId: string;
}

/** Registers a retailer and its owner over HTTP, as a merchant would. */
export async function registerOwner(instance: TestInstance, overrides: { email?: string; password?: string } = {}): Promise<RegisteredOwner> {
  const email = overrides.email ?? uniqueEmail('owner');
  const password = overrides.password ?? STRONG_PASSWORD;
  const res = await request(instance.http)
    .post('/api/v1/auth/register')
    .send({ email, password, name: 'Owner Person', retailerName: 'Test Shop' });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { email, password, userId: res.body.data.user.id, retailerId: res.body.data.retailer.id };
}

export interface LoggedIn {
  token: string;
  refreshToken: string;
  cookies: string[];
  body: any;
}

/** Signs in over HTTP and returns the tokens and the Set-Cookie headers. */
export async function login(instance: TestInstance, email: string, password: string = STRONG_PASSWORD): Promise<LoggedIn> {
  const res = await request(instance.http).post('/api/v1/auth/login').send({ email, password });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { token: res.body.data.token, refreshToken: res.body.data.refreshToken, cookies: [res.headers['set-cookie']].flat() as string[], body: res.body };
}

/** `name=value` of a Set-Cookie header list, for sending the cookie back. */
export function cookieValue(cookies: string[], name: string): string | undefined {
  const line = cookies.find((c) => c.startsWith(`${name}=`));
  return line?.split(';')[0].slice(name.length + 1);
}
