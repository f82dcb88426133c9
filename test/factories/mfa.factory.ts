import { generate } from 'otplib';
import { PNG } from 'pngjs';
import jsQR from 'jsqr';
import request from 'supertest';
import type { TestInstance } from '../support/test-app';
import { login, registerOwner, RegisteredOwner, STRONG_PASSWORD } from './retailer.factory';

/** RFC 6238 time step, as the service (and every authenticator app) uses it. */
export const TOTP_PERIOD_SECONDS = 30;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The TOTP time step of a moment (default: now). */
export function totpStep(atMs = Date.now()): number {
  return Math.floor(atMs / 1000 / TOTP_PERIOD_SECONDS);
}

/** The 6-digit code an authenticator app shows during `step` (use `totpStep() + n` for an offset of n steps). */
export function totpCodeAt(secret: string, step: number): Promise<string> {
  return generate({ secret, epoch: step * TOTP_PERIOD_SECONDS });
}

/**
 * The current step, after waiting (at most one step) until at least `secondsLeft` remain in it.
 * Codes a test computes from this step then mean the same thing to the service for that long, so
 * "one step old" never silently becomes "two steps old" because a boundary passed mid-test.
 */
export async function stepWithTimeLeft(secondsLeft = 8): Promise<number> {
  const periodMs = TOTP_PERIOD_SECONDS * 1000;
  const leftMs = periodMs - (Date.now() % periodMs);
  if (leftMs < secondsLeft * 1000) await sleep(leftMs + 50);
  return totpStep();
}

/** A well-formed 6-digit code that is valid at no step from `step - 3` to `step + 3`. */
export async function wrongTotpCode(secret: string, step: number): Promise<string> {
  const valid = new Set(await Promise.all([-3, -2, -1, 0, 1, 2, 3].map((n) => totpCodeAt(secret, step + n))));
  for (let candidate = 0; ; candidate++) {
    const code = String(candidate).padStart(6, '0');
    if (!valid.has(code)) return code;
  }
}

/** The text a QR code data URL (data:image/png;base64,…) encodes, as a phone camera would read it. */
export function decodeQrDataUrl(dataUrl: string): string | null {
  const png = PNG.sync.read(Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64'));
  const result = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.byteLength), png.width, png.height);
  return result?.data ?? null;
}

/** RFC 4648 base32 (no padding needed) to bytes. */
export function base32Decode(value: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let acc = 0;
  const out: number[] = [];
  for (const ch of value.replace(/=+$/, '').toUpperCase()) {
    const index = alphabet.indexOf(ch);
    if (index < 0) throw new Error(`not base32: ${ch}`);
    acc = (acc << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

export interface TotpSetup {
  secret: string;
  otpauthUri: string;
  qrCodeDataUrl: string;
}

/** POST /auth/mfa/totp/setup with a Bearer token; fails the test unless it answers 200. */
export async function setupTotp(instance: TestInstance, token: string): Promise<TotpSetup> {
  const res = await request(instance.http).post('/api/v1/auth/mfa/totp/setup').set('Authorization', `Bearer ${token}`);
  if (res.status !== 200) throw new Error(`totp setup failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data;
}

export interface TotpEnabled extends TotpSetup {
  backupCodes: string[];
  /** The step whose previous step's code turned TOTP on: codes of `step` and `step + 1` are still unused. */
  step: number;
}

/**
 * Turns TOTP on for a signed-in user, as the user would: setup, then a code of the app. The code
 * used is the previous step's (-30 s), so the current step is still free for the first sign-in.
 */
export async function enableTotp(instance: TestInstance, token: string, step?: number): Promise<TotpEnabled> {
  const at = step ?? (await stepWithTimeLeft());
  const setup = await setupTotp(instance, token);
  const res = await request(instance.http)
    .post('/api/v1/auth/mfa/totp/enable')
    .set('Authorization', `Bearer ${token}`)
    .send({ code: await totpCodeAt(setup.secret, at - 1) });
  if (res.status !== 200) throw new Error(`totp enable failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...setup, backupCodes: res.body.data.backupCodes, step: at };
}

export interface OwnerWithTotp extends TotpEnabled {
  owner: RegisteredOwner;
  /** The access token of the sign-in made before TOTP was on (still a live session). */
  token: string;
}

/** A new retailer owner, signed in once, with TOTP turned on. */
export async function registerOwnerWithTotp(instance: TestInstance, step?: number): Promise<OwnerWithTotp> {
  const owner = await registerOwner(instance);
  const session = await login(instance, owner.email);
  const totp = await enableTotp(instance, session.token, step);
  return { ...totp, owner, token: session.token };
}

/** POST /auth/login for an account with a second factor; returns the challenge's mfaToken. */
export async function startMfaChallenge(instance: TestInstance, email: string, password = STRONG_PASSWORD): Promise<string> {
  const res = await request(instance.http).post('/api/v1/auth/login').send({ email, password });
  if (res.status !== 200 || res.body.data?.mfaRequired !== true) throw new Error(`expected an MFA challenge: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data.mfaToken;
}

/** POST /auth/mfa/verify (the raw response, for the test to assert on). */
export function verifyMfa(instance: TestInstance, body: Record<string, unknown>) {
  return request(instance.http).post('/api/v1/auth/mfa/verify').send(body);
}
