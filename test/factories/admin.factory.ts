import { getDataSourceToken } from '@nestjs/typeorm';
import request from 'supertest';
import { DataSource } from 'typeorm';
import type { TestMailbox } from '../support/mailbox';
import type { TestInstance } from '../support/test-app';
import { onlyLinkOf, tokenFromLink } from './mail.factory';
import { totpCodeAt } from './mfa.factory';
import { uniqueEmail } from './retailer.factory';

/**
 * Per-IP limits of the admin suites: every request comes from 127.0.0.1 and the run shares one
 * Redis prefix, so they are opened wide (limits are tested in test/rate-limit).
 */
export const ADMIN_SUITE_ENV = {
  RATE_LIMIT_REGISTER_IP: '1000/1h',
  RATE_LIMIT_LOGIN_IP: '1000/15m',
  RATE_LIMIT_MAGIC_LINK_IP: '1000/15m',
  RATE_LIMIT_MFA_IP: '1000/15m',
};

export interface CreatedAdmin {
  id: string;
  email: string;
  fullAccess: boolean;
}

/** An admin row, as `npm run cli -- admin:create` makes it (the CLI itself is tested on its own). */
export async function createAdmin(instance: TestInstance, options: { fullAccess?: boolean; email?: string } = {}): Promise<CreatedAdmin> {
  const email = options.email ?? uniqueEmail('admin');
  const fullAccess = options.fullAccess ?? false;
  const dataSource = instance.app.get<DataSource>(getDataSourceToken());
  const [row] = (await dataSource.query(`INSERT INTO admins (email, full_access) VALUES ($1, $2) RETURNING id`, [email, fullAccess])) as Array<{ id: string }>;
  return { id: row.id, email, fullAccess };
}

/**
 * Asks for a magic link and returns the token from the mail. Only a mail that arrived after the
 * request counts, so asking twice for one admin gives the second link, not the first again.
 */
export async function adminMagicLinkToken(instance: TestInstance, mailbox: TestMailbox, email: string): Promise<string> {
  const seen = mailbox.messages.length;
  await request(instance.http).post('/api/v1/admin/auth/magic-link').send({ email }).expect(202);
  const mail = await mailbox.waitFor(email, { after: seen, subject: /admin console sign-in link/i });
  return tokenFromLink(onlyLinkOf(mail));
}

/** POST /admin/auth/magic-link/verify (the raw response, for the test to assert on). */
export function verifyAdminLink(instance: TestInstance, token: string) {
  return request(instance.http).post('/api/v1/admin/auth/magic-link/verify').send({ token });
}

/** POST /admin/auth/mfa/verify (the raw response). */
export function verifyAdminMfa(instance: TestInstance, mfaToken: string, code: string) {
  return request(instance.http).post('/api/v1/admin/auth/mfa/verify').send({ mfaToken, code });
}

export interface SignedInAdmin extends CreatedAdmin {
  token: string;
  cookies: string[];
}

/** Creates an admin and signs it in by magic link (no TOTP). */
export async function signedInAdmin(instance: TestInstance, mailbox: TestMailbox, options: { fullAccess?: boolean } = {}): Promise<SignedInAdmin> {
  const admin = await createAdmin(instance, options);
  const token = await adminMagicLinkToken(instance, mailbox, admin.email);
  const res = await verifyAdminLink(instance, token).expect(200);
  const cookies = [res.headers['set-cookie'] ?? []].flat() as string[];
  return { ...admin, token: res.body.data.token as string, cookies };
}

/** Requests under /api/v1 with `Authorization: Bearer <token>` (an admin, impersonation or retailer token). */
export function bearer(instance: TestInstance, token: string) {
  const api = () => request(instance.http);
  return {
    get: (path: string) => api().get(`/api/v1${path}`).set('Authorization', `Bearer ${token}`),
    post: (path: string, body: object = {}) => api().post(`/api/v1${path}`).set('Authorization', `Bearer ${token}`).send(body),
    patch: (path: string, body: object = {}) => api().patch(`/api/v1${path}`).set('Authorization', `Bearer ${token}`).send(body),
    delete: (path: string) => api().delete(`/api/v1${path}`).set('Authorization', `Bearer ${token}`),
  };
}

/**
 * Turns TOTP on for a signed-in admin as the admin would (setup, then a code of the app). The
 * code used is the one of `step - 1`, so the codes of `step` and `step + 1` are still unused.
 */
export async function enrolAdminTotp(instance: TestInstance, adminToken: string, step: number): Promise<{ secret: string; otpauthUri: string }> {
  const setup = await bearer(instance, adminToken).post('/admin/auth/totp/setup');
  if (setup.status !== 200) throw new Error(`admin totp setup failed: ${setup.status} ${JSON.stringify(setup.body)}`);
  const { secret, otpauthUri } = setup.body.data as { secret: string; otpauthUri: string };
  const enabled = await bearer(instance, adminToken).post('/admin/auth/totp/enable', { code: await totpCodeAt(secret, step - 1) });
  if (enabled.status !== 200) throw new Error(`admin totp enable failed: ${enabled.status} ${JSON.stringify(enabled.body)}`);
  return { secret, otpauthUri };
}

/** POST /admin/impersonations (the raw response). */
export function startImpersonation(instance: TestInstance, adminToken: string, body: Record<string, unknown>) {
  return bearer(instance, adminToken).post('/admin/impersonations', body);
}

/** Starts an impersonation as the admin; returns the contract's answer. */
export async function impersonate(instance: TestInstance, adminToken: string, retailerId: string, reason = 'support ticket 4711', extra: Record<string, unknown> = {}) {
  const res = await startImpersonation(instance, adminToken, { retailerId, reason, ...extra });
  if (res.status !== 201) throw new Error(`impersonation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data as { id: string; token: string; expiresAt: string; retailerId: string; fullAccess: boolean };
}
