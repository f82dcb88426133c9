import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { ConfigError, describeConfig, loadAppConfig } from '@app/common/config';
import { buildDataSourceOptions, EmbeddedPostgres } from '@app/database';

/**
 * Operator commands. `npm run cli -- <command>`:
 *   config:check   validate the configuration exactly as the service's start does
 *   migrate        apply pending migrations to DATABASE_URL (or the embedded database)
 */
const commands: Record<string, (args: string[]) => Promise<void>> = {
  async 'config:check'() {
    const config = loadAppConfig(process.env);
    process.stdout.write(`configuration ok: ${describeConfig(config)}\n`);
  },

  async migrate() {
    const config = loadAppConfig(process.env);
    const embedded = config.database.url ? null : new EmbeddedPostgres(config.database.dataDir);
    const url = config.database.url ?? (await embedded!.start());
    const dataSource = await new DataSource(buildDataSourceOptions({ url, poolSize: 1, connectTimeoutMs: config.database.connectTimeoutMs })).initialize();
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      process.stdout.write(applied.length ? `applied: ${applied.map((m) => m.name).join(', ')}\n` : 'no pending migrations\n');
    } finally {
      await dataSource.destroy();
      await embedded?.stop();
    }
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
