import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { EmbeddedPostgres } from '../../libs/database/src/embedded-postgres';
import { hostPort, isReachable } from './services';

/**
 * Picks the services of the end-to-end run. A real Postgres (TEST_DATABASE_URL, else
 * 127.0.0.1:5432) gets a database of its own for this run, dropped at the end; without one the
 * suite runs on an embedded PGlite. Redis (TEST_REDIS_URL, else 127.0.0.1:6379) is used when
 * it answers, with a key prefix of this run; tests that need it say so when it is absent.
 */
export default async function globalSetup(): Promise<void> {
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  process.env.E2E_RUN_ID = runId;

  const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const pg = hostPort(adminUrl, 5432);
  if (await isReachable(pg.host, pg.port)) {
    const database = `auth_e2e_${runId}`;
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    await client.query(`CREATE DATABASE "${database}"`);
    await client.end();
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    process.env.E2E_DATABASE_URL = url.toString();
    process.env.E2E_ADMIN_DATABASE_URL = adminUrl;
    process.env.E2E_DATABASE_NAME = database;
    process.env.E2E_DATABASE_KIND = 'postgres';
  } else {
    const embedded = new EmbeddedPostgres(mkdtempSync(join(tmpdir(), 'auth-e2e-')));
    process.env.E2E_DATABASE_URL = await embedded.start();
    process.env.E2E_DATABASE_KIND = 'embedded';
    (globalThis as { __embeddedPostgres?: EmbeddedPostgres }).__embeddedPostgres = embedded;
    process.stderr.write('\n[e2e] no Postgres server reachable: running on embedded PGlite\n');
  }

  const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = hostPort(redisUrl, 6379);
  if (await isReachable(redis.host, redis.port)) {
    process.env.E2E_REDIS_URL = redisUrl;
  } else {
    process.stderr.write('[e2e] no Redis reachable: tests that need Redis are skipped\n');
  }
}
