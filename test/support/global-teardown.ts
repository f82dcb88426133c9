import { Client } from 'pg';
import type { EmbeddedPostgres } from '../../libs/database/src/embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  const embedded = (globalThis as { __embeddedPostgres?: EmbeddedPostgres }).__embeddedPostgres;
  if (embedded) await embedded.stop();
  const database = process.env.E2E_DATABASE_NAME;
  if (database && process.env.E2E_ADMIN_DATABASE_URL) {
    const client = new Client({ connectionString: process.env.E2E_ADMIN_DATABASE_URL });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await client.end();
  }
}
