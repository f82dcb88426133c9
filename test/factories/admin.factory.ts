import { getDataSourceToken } from '@nestjs/typeorm';
import request from 'supertest';
import { DataSource } from 'typeorm';
import type { TestMailbox } from '../support/mailbox';
import type { TestInstance } from '../support/test-app';
import { onlyLinkOf, tokenFromLink } from './mail.factory';
import { uniqueEmail } from './retailer.factory';

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

/** Asks for a magic link and returns the token from the mail. */
export async function adminMagicLinkToken(instance: TestInstance, mailbox: TestMailbox, email: string): Promise<string> {
  await request(instance.http).post('/api/v1/admin/auth/magic-link').send({ email }).expect(202);
  const mail = await mailbox.waitFor(email);
  return tokenFromLink(onlyLinkOf(mail));
}

export interface SignedInAdmin extends CreatedAdmin {
  token: string;
  cookies: string[];
}

/** Creates an admin and signs it in by magic link (no TOTP). */
export async function signedInAdmin(instance: TestInstance, mailbox: TestMailbox, options: { fullAccess?: boolean } = {}): Promise<SignedInAdmin> {
  const admin = await createAdmin(instance, options);
  const token = await adminMagicLinkToken(instance, mailbox, admin.email);
  const res = await request(instance.http).post('/api/v1/admin/auth/magic-link/verify').send({ token }).expect(200);
  const cookies = res.headers['set-cookie'] as unknown as string[];
  return { ...admin, token: res.body.data.token as string, cookies };
}

/** Starts an impersonation as the admin; returns the contract's answer. */
export async function impersonate(instance: TestInstance, adminToken: string, retailerId: string, reason = 'support ticket 4711', extra: Record<string, unknown> = {}) {
  const res = await request(instance.http)
    .post('/api/v1/admin/impersonations')
    .set('Authorization', `Bearer ${adminToken}`)
    .send({ retailerId, reason, ...extra });
  if (res.status !== 201) throw new Error(`impersonation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data as { id: string; token: string; expiresAt: string; retailerId: string; fullAccess: boolean };
}
