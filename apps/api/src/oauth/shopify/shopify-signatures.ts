import { timingSafeEqual } from 'node:crypto';
import { hmacSha256 } from '@app/common/crypto';

/**
 * Shopify's two signatures, written with node:crypto. `@shopify/shopify-api` was considered:
 * its current major (15.x) needs Node >= 22; 13.x runs on Node 20 but needs a configured client
 * and a global runtime adapter for these few lines, and its OAuth helpers hard-code
 * `https://{shop}` token URLs and keep `state` in a cookie of their own, so they cannot use our
 * hashed single-use states or a configurable endpoint. The message format below is the one that
 * library signs and checks (keys sorted, `URLSearchParams` encoding, hex digest).
 */

/** `^[a-z0-9][a-z0-9-]*\.myshopify\.com$` and nothing else: no `/`, `@`, port, or suffix. */
export const SHOP_HOSTNAME = /^[a-z0-9][a-z0-9-]*\.myshopify\.com$/;

export function isShopHostname(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 255 && SHOP_HOSTNAME.test(value);
}

/**
 * The query of a Shopify redirect as ordered pairs, read from the raw query string (not
 * express's parsed object, which would turn `a[b]=` or repeated keys into objects and arrays).
 * Null when a key repeats: such a query cannot be checked unambiguously.
 */
export function queryPairs(rawQuery: string): Array<[string, string]> | null {
  const pairs = [...new URLSearchParams(rawQuery).entries()];
  const keys = new Set(pairs.map(([k]) => k));
  return keys.size === pairs.length ? pairs : null;
}

/** The message Shopify signs: every parameter but `hmac` (and the legacy `signature`), sorted by key. */
export function signedMessage(pairs: Array<[string, string]>): string {
  const kept = pairs.filter(([k]) => k !== 'hmac' && k !== 'signature').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return new URLSearchParams(kept).toString();
}

export function signQuery(secret: string, pairs: Array<[string, string]>): string {
  return hmacSha256(secret, signedMessage(pairs)).toString('hex');
}

/** Constant-time check of a query's hex `hmac` (64 hex characters, any case). */
export function verifyQueryHmac(secret: string, pairs: Array<[string, string]>): boolean {
  const given = pairs.find(([k]) => k === 'hmac')?.[1];
  if (!given || !/^[0-9a-fA-F]{64}$/.test(given)) return false;
  return timingSafeEqual(Buffer.from(given, 'hex'), hmacSha256(secret, signedMessage(pairs)));
}

/**
 * Constant-time check of `X-Shopify-Hmac-Sha256`: the base64 HMAC-SHA256 of the exact body bytes
 * with the app secret. Anything but 44 characters of canonical base64 (a hex digest, a cut-off
 * value) is refused before comparing.
 */
export function verifyWebhookHmac(secret: string, rawBody: Buffer, header: string): boolean {
  if (!/^[A-Za-z0-9+/]{43}=$/.test(header)) return false;
  const given = Buffer.from(header, 'base64');
  return given.length === 32 && timingSafeEqual(given, hmacSha256(secret, rawBody));
}
