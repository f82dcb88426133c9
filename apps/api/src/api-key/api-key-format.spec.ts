import { API_KEY_LENGTHS, checksumOf, generateApiKey, hashApiKeySecret, parseApiKey, randomBase62, secretMatches } from './api-key-format';

describe('API key format', () => {
  it('generates rk_live_<type>_<id>_<secret>_<checksum> keys that parse back to their prefix and secret', () => {
    for (const type of ['reporting', 'reactivate'] as const) {
      const { key, prefix, keyHash } = generateApiKey(type);
      expect(key).toMatch(/^rk_live_[rm]_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}_[0-9A-Za-z]{6}$/);
      expect(key.startsWith(`${prefix}_`)).toBe(true);
      const parsed = parseApiKey(key);
      expect(parsed).toEqual({ type, prefix, secret: expect.any(String) });
      expect(parsed!.secret).toHaveLength(API_KEY_LENGTHS.secret);
      expect(hashApiKeySecret(parsed!.secret)).toBe(keyHash);
      expect(keyHash).not.toContain(parsed!.secret);
    }
    expect(generateApiKey('reporting').prefix).toMatch(/^rk_live_r_/);
    expect(generateApiKey('reactivate').prefix).toMatch(/^rk_live_m_/);
  });

  it('gives every key its own prefix and secret', () => {
    const keys = new Set(Array.from({ length: 200 }, () => generateApiKey('reporting').key));
    expect(keys.size).toBe(200);
  });

  it('refuses a key with any single character changed (the checksum catches typos without a lookup)', () => {
    const { key } = generateApiKey('reporting');
    const body = key.slice(0, key.lastIndexOf('_'));
    for (let i = 'rk_live_r_'.length; i < body.length; i++) {
      if (body[i] === '_') continue;
      const replacement = body[i] === 'a' ? 'b' : 'a';
      const typo = key.slice(0, i) + replacement + key.slice(i + 1);
      expect(parseApiKey(typo)).toBeNull();
    }
    const swapped = key.slice(0, -1) + (key.endsWith('0') ? '1' : '0');
    expect(parseApiKey(swapped)).toBeNull();
  });

  it('refuses malformed input: JWTs, truncations, other markers, huge strings', () => {
    const { key } = generateApiKey('reporting');
    for (const bad of [
      '',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln',
      key.slice(0, -1),
      `${key}x`,
      key.replace('rk_live_', 'rk_test_'),
      key.replace('rk_live_r_', 'rk_live_z_'),
      ` ${key}`,
      'x'.repeat(10_000),
    ]) {
      expect(parseApiKey(bad)).toBeNull();
    }
  });

  it('encodes the CRC-32 checksum in exactly 6 base62 characters', () => {
    expect(checksumOf('')).toBe('000000');
    expect(checksumOf('rk_live_r_abc')).toMatch(/^[0-9A-Za-z]{6}$/);
    expect(randomBase62(50)).toMatch(/^[0-9A-Za-z]{50}$/);
  });

  it('compares a presented secret with the stored hash', () => {
    const { key, keyHash } = generateApiKey('reporting');
    const { secret } = parseApiKey(key)!;
    expect(secretMatches(secret, keyHash)).toBe(true);
    expect(secretMatches(secret.replace(/.$/, '_'), keyHash)).toBe(false);
  });
});
