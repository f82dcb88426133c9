import { DataSource } from 'typeorm';
import { loadAppConfig } from '@app/common/config';
import { normalizeEmail } from '@app/common/crypto';
import { Admin, buildDataSourceOptions, EmbeddedPostgres } from '@app/database';

/** Reads `--name value` (or `--name=value`) and bare `--flag` options. */
export function parseOptions(args: string[]): Map<string, string | true> {
  const options = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const eq = arg.indexOf('=');
    if (eq > 0) options.set(arg.slice(2, eq), arg.slice(eq + 1));
    else if (args[i + 1] !== undefined && !args[i + 1].startsWith('--')) options.set(arg.slice(2), args[++i]);
    else options.set(arg.slice(2), true);
  }
  return options;
}

/** Opens the configured database, applies pending migrations, runs `work`, closes it. */
export async function withDatabase<T>(work: (dataSource: DataSource, appliedMigrations: string[]) => Promise<T>): Promise<T> {
  const config = loadAppConfig(process.env);
  const embedded = config.database.url ? null : new EmbeddedPostgres(config.database.dataDir);
  const url = config.database.url ?? (await embedded!.start());
  const dataSource = await new DataSource(buildDataSourceOptions({ url, poolSize: 1, connectTimeoutMs: config.database.connectTimeoutMs })).initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return await work(
      dataSource,
      applied.map((m) => m.name),
    );
  } finally {
    await dataSource.destroy();
    await embedded?.stop();
  }
}

/**
 * `admin:create --email <e> [--name <n>] [--full-access]`: the first admin (and any later one).
 * The admin then signs in with a magic link sent to that address (POST /admin/auth/magic-link).
 */
export async function adminCreate(args: string[]): Promise<void> {
  const options = parseOptions(args);
  const rawEmail = options.get('email');
  if (typeof rawEmail !== 'string' || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(rawEmail.trim())) throw new Error('admin:create needs --email <address>');
  const name = options.get('name');
  const fullAccess = options.get('full-access') === true;
  const email = normalizeEmail(rawEmail);
  const admin = await withDatabase(async (dataSource) => {
    const repo = dataSource.getRepository(Admin);
    if (await repo.existsBy({ email })) throw new Error(`an admin with the email ${email} already exists`);
    const created = await repo.save(repo.create({ email, name: typeof name === 'string' ? name : '', fullAccess }));
    await dataSource.query(
      `INSERT INTO audit_logs (event, actor_type, actor_id, status, metadata) VALUES ('admin_created', 'system', NULL, 'success', $1)`,
      [JSON.stringify({ adminId: created.id, email, fullAccess, via: 'cli' })],
    );
    return created;
  });
  process.stdout.write(`admin created: id=${admin.id} email=${admin.email} fullAccess=${admin.fullAccess}\nsign in: POST /api/v1/admin/auth/magic-link {"email": "${admin.email}"}\n`);
}
