import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Secrets a development instance generates once and keeps in its data folder. */
export const DEV_SECRET_NAMES = [
  'RETAILER_JWT_PRIVATE_KEY',
  'ADMIN_JWT_PRIVATE_KEY',
  'PORTAL_JWT_PRIVATE_KEY',
  'BRIDGE_JWT_PRIVATE_KEY',
  'REACTIVATE_JWT_PRIVATE_KEY',
  'APP_ENCRYPTION_KEY',
] as const;

/**
 * Loads `<dataDir>/secrets.json`, generating any secret it lacks, so that a development instance
 * needs no configuration and its tokens and encrypted rows survive a restart.
 */
export function loadOrCreateDevSecrets(dataDir: string): Record<string, string> {
  const file = join(dataDir, 'secrets.json');
  let secrets: Record<string, string> = {};
  if (existsSync(file)) secrets = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  let changed = false;
  for (const name of DEV_SECRET_NAMES) {
    if (typeof secrets[name] === 'string' && secrets[name].length > 0) continue;
    secrets[name] = name === 'APP_ENCRYPTION_KEY' ? randomBytes(32).toString('base64') : randomBytes(48).toString('base64url');
    changed = true;
  }
  if (changed) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return secrets;
}
