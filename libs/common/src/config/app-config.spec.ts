import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveKid, loadAppConfig } from './app-config';
import { ConfigError, parseDuration } from './env-parsers';

const strong = (name: string) => `${name}-0123456789abcdef0123456789abcdef`;
const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://auth@db.internal:5432/auth',
  RETAILER_JWT_PRIVATE_KEY: strong('retailer'),
  ADMIN_JWT_PRIVATE_KEY: strong('admin'),
  PORTAL_JWT_PRIVATE_KEY: strong('portal'),
  BRIDGE_JWT_PRIVATE_KEY: strong('bridge'),
  REACTIVATE_JWT_PRIVATE_KEY: strong('reactivate'),
  APP_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
};

function refusal(env: Record<string, string | undefined>): string {
  try {
    loadAppConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).not.toContain('\n');
    return (err as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('loadAppConfig', () => {
  it('accepts a complete production configuration', () => {
    const config = loadAppConfig(PRODUCTION);
    expect(config.isProduction).toBe(true);
    expect(config.database.embedded).toBe(false);
    expect(config.jwt.keys.retailer.current.kid).toBe(deriveKid(Buffer.from(strong('retailer'))));
    expect(config.jwt.keys.retailer.current.kid).toMatch(/^[0-9a-f]{16}$/);
  });

  it.each(['RETAILER_JWT_PRIVATE_KEY', 'ADMIN_JWT_PRIVATE_KEY', 'PORTAL_JWT_PRIVATE_KEY', 'BRIDGE_JWT_PRIVATE_KEY', 'REACTIVATE_JWT_PRIVATE_KEY', 'APP_ENCRYPTION_KEY'])(
    'refuses production without %s, naming it',
    (name) => {
      expect(refusal({ ...PRODUCTION, [name]: undefined })).toMatch(new RegExp(`${name} is required`));
    },
  );

  it('refuses a production JWT secret shorter than 32 bytes', () => {
    expect(refusal({ ...PRODUCTION, ADMIN_JWT_PRIVATE_KEY: 'short-secret' })).toMatch(/ADMIN_JWT_PRIVATE_KEY must be at least 32 bytes/);
  });

  it('refuses one secret shared by two token types', () => {
    expect(refusal({ ...PRODUCTION, PORTAL_JWT_PRIVATE_KEY: PRODUCTION.RETAILER_JWT_PRIVATE_KEY })).toMatch(
      /PORTAL_JWT_PRIVATE_KEY must differ from RETAILER_JWT_PRIVATE_KEY/,
    );
  });

  it('refuses the embedded database in production', () => {
    expect(refusal({ ...PRODUCTION, DATABASE_URL: undefined })).toMatch(/DATABASE_URL is required in production/);
  });

  it('refuses an encryption key that is not 32 bytes', () => {
    expect(refusal({ ...PRODUCTION, APP_ENCRYPTION_KEY: 'dG9vIHNob3J0' })).toMatch(/APP_ENCRYPTION_KEY must be 32 bytes/);
  });

  it('refuses malformed durations, numbers and proxies, naming the variable', () => {
    expect(refusal({ ...PRODUCTION, ACCESS_TOKEN_TTL: 'ten minutes' })).toMatch(/ACCESS_TOKEN_TTL must be a duration/);
    expect(refusal({ ...PRODUCTION, LOGIN_MAX_ATTEMPTS: 'five' })).toMatch(/LOGIN_MAX_ATTEMPTS must be a whole number/);
    expect(refusal({ ...PRODUCTION, TRUST_PROXY: 'my-proxy' })).toMatch(/TRUST_PROXY/);
    expect(refusal({ ...PRODUCTION, CORS_ORIGINS: 'https://app.example.com/path' })).toMatch(/CORS_ORIGINS/);
  });

  it('reads lifetimes and counts, so DJUST-style 10 min / 2 h tokens take two variables', () => {
    const config = loadAppConfig({ ...PRODUCTION, ACCESS_TOKEN_TTL: '10m', REFRESH_TOKEN_TTL: '2h', MAX_SESSIONS_PER_USER: '3' });
    expect(config.auth.accessTokenTtlMs).toBe(600_000);
    expect(config.auth.refreshTokenTtlMs).toBe(7_200_000);
    expect(config.auth.maxSessionsPerUser).toBe(3);
    expect(config.auth.sessionIdleTimeoutMs).toBe(86_400_000);
    expect(config.auth.refreshReuseGraceMs).toBe(10_000);
  });

  it('reads previous keys for verification only', () => {
    const config = loadAppConfig({ ...PRODUCTION, RETAILER_JWT_PREVIOUS_KEYS: `${strong('old1')},${strong('old2')}` });
    expect(config.jwt.keys.retailer.previous.map((k) => k.kid)).toEqual([deriveKid(Buffer.from(strong('old1'))), deriveKid(Buffer.from(strong('old2')))]);
  });

  it('rotates the MFA challenge key with the retailer key, so a sign-in waiting on its second factor survives a rotation', () => {
    const before = loadAppConfig(PRODUCTION);
    const after = loadAppConfig({ ...PRODUCTION, RETAILER_JWT_PRIVATE_KEY: strong('newretailer'), RETAILER_JWT_PREVIOUS_KEYS: PRODUCTION.RETAILER_JWT_PRIVATE_KEY });
    expect(after.jwt.keys.mfa.current.kid).not.toBe(before.jwt.keys.mfa.current.kid);
    expect(after.jwt.keys.mfa.previous.map((k) => k.kid)).toEqual([before.jwt.keys.mfa.current.kid]);
  });

  it('runs a development instance with no configuration, generating secrets once and keeping them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'auth-config-'));
    const first = loadAppConfig({ DATA_DIR: dir });
    expect(first.isProduction).toBe(false);
    expect(first.database.embedded).toBe(true);
    const file = join(dir, 'secrets.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = loadAppConfig({ DATA_DIR: dir });
    expect(second.jwt.keys.retailer.current.kid).toBe(first.jwt.keys.retailer.current.kid);
    expect(second.encryptionKey.equals(first.encryptionKey)).toBe(true);
    const kids = new Set(Object.values(first.jwt.keys).map((k) => k.current.kid));
    expect(kids.size).toBe(6);
    expect(JSON.parse(readFileSync(file, 'utf8')).APP_ENCRYPTION_KEY).toBeDefined();
  });
});

describe('parseDuration', () => {
  it.each([
    ['45s', 45_000],
    ['10m', 600_000],
    ['2h', 7_200_000],
    ['30d', 2_592_000_000],
    ['500ms', 500],
    ['90', 90_000],
  ])('%s', (input, ms) => expect(parseDuration(input)).toBe(ms));

  it.each(['', 'abc', '-5m', '0', '10 parsecs'])('refuses %p', (input) => expect(parseDuration(input)).toBeUndefined());
});
