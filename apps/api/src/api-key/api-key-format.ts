import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { safeEqual, sha256Hex } from '@app/common/crypto';
import type { ApiKeyType } from '@app/database';

/**
 * The shape of a key: `rk_live_<t>_<id>_<secret>_<checksum>`.
 *
 * - `rk_live_` is a fixed, greppable marker, so secret scanners (GitHub, GitGuardian, trufflehog)
 *   can be taught to spot a leaked key with one regular expression.
 * - `<t>` is the key's type: `r` reporting, `m` reactivate (marketing).
 * - `<id>` (12 base62 characters) is public: `rk_live_<t>_<id>` is the key's `prefix`, stored in
 *   clear, shown in listings and used as the lookup index.
 * - `<secret>` (32 base62 characters, ~190 bits) is the only secret part; the database keeps its
 *   SHA-256 (a fast hash is right for a high-entropy random value: there is nothing to brute-force).
 * - `<checksum>` is CRC-32 over everything before it, in 6 base62 characters: a mistyped or
 *   truncated key is refused without a database lookup, and a scanner can tell a real key from
 *   a look-alike string.
 */
export const API_KEY_MARKER = 'rk_live_';
const TYPE_CHAR: Record<ApiKeyType, string> = { reporting: 'r', reactivate: 'm' };
const TYPE_OF_CHAR: Record<string, ApiKeyType> = { r: 'reporting', m: 'reactivate' };
const ID_LENGTH = 12;
const SECRET_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
const KEY_PATTERN = /^rk_live_([rm])_([0-9A-Za-z]{12})_([0-9A-Za-z]{32})_([0-9A-Za-z]{6})$/;
/** Longer input is refused before any regular expression runs. */
const MAX_KEY_LENGTH = 80;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `length` uniformly random base62 characters (rejection sampling: no modulo bias). */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

/** CRC-32 of `body` in 6 base62 characters (62^6 > 2^32, so it always fits). */
export function checksumOf(body: string): string {
  let n = crc32(body);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

export interface GeneratedApiKey {
  /** The whole key, shown to the user once. */
  key: string;
  /** The public part, stored in clear: `rk_live_<t>_<id>`. */
  prefix: string;
  /** SHA-256 (hex) of the secret part: the only trace of the secret that is stored. */
  keyHash: string;
}

export function generateApiKey(type: ApiKeyType): GeneratedApiKey {
  const prefix = `${API_KEY_MARKER}${TYPE_CHAR[type]}_${randomBase62(ID_LENGTH)}`;
  const secret = randomBase62(SECRET_LENGTH);
  const body = `${prefix}_${secret}`;
  return { key: `${body}_${checksumOf(body)}`, prefix, keyHash: hashApiKeySecret(secret) };
}

export interface ParsedApiKey {
  type: ApiKeyType;
  prefix: string;
  secret: string;
}

/** The parts of a well-formed key whose checksum matches, or null (no lookup needed to refuse it). */
export function parseApiKey(raw: string): ParsedApiKey | null {
  if (raw.length > MAX_KEY_LENGTH) return null;
  const match = KEY_PATTERN.exec(raw);
  if (!match) return null;
  const [, typeChar, id, secret, checksum] = match;
  const prefix = `${API_KEY_MARKER}${typeChar}_${id}`;
  if (checksumOf(`${prefix}_${secret}`) !== checksum) return null;
  return { type: TYPE_OF_CHAR[typeChar], prefix, secret };
}

export function hashApiKeySecret(secret: string): string {
  return sha256Hex(secret);
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secret: string, keyHash: string): boolean {
  return safeEqual(hashApiKeySecret(secret), keyHash);
}

export const API_KEY_LENGTHS = { id: ID_LENGTH, secret: SECRET_LENGTH, checksum: CHECKSUM_LENGTH } as const;
