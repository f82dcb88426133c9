import type { DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

export interface DatabaseConnection {
  url: string;
  poolSize: number;
  connectTimeoutMs: number;
}

/**
 * Options shared by the service and the TypeORM CLI. `synchronize` is off everywhere: the
 * schema comes from migrations, which run at start.
 */
export function buildDataSourceOptions(conn: DatabaseConnection): DataSourceOptions {
  return {
    type: 'postgres',
    url: conn.url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: false,
    migrationsTransactionMode: 'each',
    synchronize: false,
    // pgcrypto's gen_random_uuid() is built into Postgres 13+ and PGlite; uuid-ossp is not in PGlite.
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    // Failures surface as exceptions that the global filter logs (with the request id).
    logging: false,
    connectTimeoutMS: conn.connectTimeoutMs,
    poolSize: conn.poolSize,
    extra: {
      max: conn.poolSize,
      connectionTimeoutMillis: conn.connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      // A query that cannot finish in 15 s is answered 503 rather than holding the request forever.
      query_timeout: 15_000,
      application_name: 'retail-auth',
    },
  };
}
