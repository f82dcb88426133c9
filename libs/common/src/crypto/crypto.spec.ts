import { randomBytes } from 'node:crypto';
import { decryptSecret, encryptSecret, normalizeEmail, randomToken, safeEqual } from './crypto';

describe('crypto helpers', () => {
  const key = randomBytes(32);

  it('round-trips a secret through AES-256-GCM without the plaintext appearing in the sealed form', () => {
    const sealed = encryptSecret(key, 'shpat_live_token_value');
    expect(sealed).not.toContain('shpat_live_token_value');
    expect(decryptSecret(key, sealed)).toBe('shpat_live_token_value');
  });

  it('uses a fresh IV each time, so the same plaintext seals differently', () => {
    expect(encryptSecret(key, 'same')).not.toBe(encryptSecret(key, 'same'));
  });

  it('refuses a tampered ciphertext, a wrong key and wrong associated data', () => {
    const sealed = encryptSecret(key, 'value', 'connection:1');
    const parts = sealed.split('.');
    const flipped = Buffer.from(parts[3], 'base64url');
    flipped[0] ^= 1;
    expect(() => decryptSecret(key, [parts[0], parts[1], parts[2], flipped.toString('base64url')].join('.'), 'connection:1')).toThrow();
    expect(() => decryptSecret(randomBytes(32), sealed, 'connection:1')).toThrow();
    expect(() => decryptSecret(key, sealed, 'connection:2')).toThrow();
  });

  it('compares secrets of different lengths and contents safely', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
  });

  it('makes URL-safe random tokens of the requested entropy', () => {
    const t = randomToken(32);
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(randomToken(32)).not.toBe(t);
  });

  it('normalises emails by trimming and lower-casing', () => {
    expect(normalizeEmail('  Jane.Doe@Example.COM ')).toBe('jane.doe@example.com');
  });
});
