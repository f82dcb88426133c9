import { createHash, createHmac } from 'node:crypto';

/**
 * Hand-made JWTs for attacking the token guards: any header, any payload, any (or no)
 * signature. Built with node:crypto rather than jsonwebtoken so that the malformed cases
 * (`alg: none`, a mislabelled `alg`, a payload edited under an old signature) are possible.
 */

export type JwtHeader = Record<string, unknown>;
export type JwtPayload = Record<string, unknown>;

export interface DecodedJwt {
  header: JwtHeader;
  payload: JwtPayload;
  /** The raw base64url segments, as they appear in the token. */
  segments: [string, string, string];
}

/** The contract's key id: the first 16 hex characters of SHA-256 over the secret's UTF-8 bytes. */
export function kidOf(secret: string): string {
  return createHash('sha256').update(Buffer.from(secret, 'utf8')).digest('hex').slice(0, 16);
}

export function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url');
}

/** Splits a compact JWT without verifying anything. */
export function decodeJwt(token: string): DecodedJwt {
  const segments = token.split('.');
  if (segments.length !== 3) throw new Error(`not a compact JWT: ${segments.length} segments`);
  const [h, p, s] = segments as [string, string, string];
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as JwtHeader,
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as JwtPayload,
    segments: [h, p, s],
  };
}

const HMAC_OF: Record<string, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

export interface ForgeOptions {
  header: JwtHeader;
  payload: JwtPayload;
  /**
   * The HMAC key. Omitted: the signature segment is empty (an unsigned token).
   * The HMAC digest follows `hmac` if given, else the header's `alg` (HS256 for anything else).
   */
  secret?: string;
  hmac?: 'sha256' | 'sha384' | 'sha512';
}

/** A compact JWT with exactly the given header and payload, HMAC-signed over them with `secret`. */
export function forgeJwt({ header, payload, secret, hmac }: ForgeOptions): string {
  const signingInput = `${b64url(header)}.${b64url(payload)}`;
  if (secret === undefined) return `${signingInput}.`;
  const digest = hmac ?? HMAC_OF[String(header.alg)] ?? 'sha256';
  const signature = createHmac(digest, Buffer.from(secret, 'utf8')).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

/** The same token with its payload replaced and the ORIGINAL header and signature kept. */
export function withPayloadKeepingSignature(token: string, payload: JwtPayload): string {
  const { segments } = decodeJwt(token);
  return `${segments[0]}.${b64url(payload)}.${segments[2]}`;
}
