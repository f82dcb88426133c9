import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { sign as signJwt } from 'jsonwebtoken';
import { ConfigError, describeConfig, loadAppConfig } from '@app/common/config';
import { adminCreate, withDatabase } from './admin-create';

/**
 * Operator commands. `npm run cli -- <command>`:
 *   config:check   validate the configuration exactly as the service's start does
 *   migrate        apply pending migrations to DATABASE_URL (or the embedded database)
 *   admin:create --email <address> [--name <name>] [--full-access]
 *                  create an admin of the console (then: POST /api/v1/admin/auth/magic-link)
 *   bridge:mint --issuer <name> --retailer <retailerId> --user <userId> [--ttl <seconds, default 60, max 300>]
 *                  print a single-use bridge token signed with the current BRIDGE_JWT_PRIVATE_KEY
 *                  (what a sibling service sends to POST /api/v1/auth/bridge; see docs/bridge-tokens.md)
 */

/** `--name value` pairs of a command line; anything else (or a repeated flag) is refused. */
function bridgeMintFlags(args: string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    const name = flag.startsWith('--') ? flag.slice(2) : '';
    if (!['issuer', 'retailer', 'user', 'ttl'].includes(name) || value === undefined || value.startsWith('--') || name in flags) {
      throw new Error(`bridge:mint: unexpected argument "${flag}" (usage: bridge:mint --issuer <name> --retailer <retailerId> --user <userId> [--ttl <seconds>])`);
    }
    flags[name] = value;
  }
  for (const required of ['issuer', 'retailer', 'user']) {
    if (!flags[required]) throw new Error(`bridge:mint: --${required} is required`);
  }
  return flags;
}
const commands: Record<string, (args: string[]) => Promise<void>> = {
  async 'config:check'() {
    const config = loadAppConfig(process.env);
    process.stdout.write(`configuration ok: ${describeConfig(config)}\n`);
  },

  async migrate() {
    await withDatabase(async (_dataSource, applied) => {
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'no pending migrations\n');
    });
  },

  'admin:create': adminCreate,

  async 'bridge:mint'(args) {
    const flags = bridgeMintFlags(args);
    const ttl = flags.ttl === undefined ? 60 : Number(flags.ttl);
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 300) throw new Error('bridge:mint: --ttl must be a whole number of seconds from 1 to 300');
    const config = loadAppConfig(process.env);
    if (!config.jwt.bridgeAllowedIssuers.includes(flags.issuer)) {
      process.stderr.write(`warning: "${flags.issuer}" is not in BRIDGE_ALLOWED_ISSUERS of this configuration; a service configured like it refuses the token\n`);
    }
    const key = config.jwt.keys.bridge.current;
    const iat = Math.floor(Date.now() / 1000);
    const token = signJwt(
      { iss: flags.issuer, aud: ['bridge'], sub: flags.retailer, uid: flags.user, iat, exp: iat + ttl, jti: randomUUID() },
      key.secret,
      { algorithm: 'HS256', keyid: key.kid },
    );
    process.stdout.write(`${token}\n`);
  },
};

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const command = name ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(`usage: npm run cli -- <${Object.keys(commands).join('|')}>\n`);
    process.exit(2);
  }
  await command(args);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : `failed: ${(err as Error).message}`}\n`);
  process.exit(1);
});
