/**
 * Data source for the TypeORM CLI only (the service builds its own in DatabaseModule).
 *   DATABASE_URL=postgres://... npm run migration:run
 *   DATABASE_URL=postgres://... npm run migration:generate -- libs/database/src/migrations/AddSomething
 * A generated migration is then appended to MIGRATIONS in libs/database/src/migrations/index.ts.
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from './libs/database/src/data-source-options';

export default new DataSource(
  buildDataSourceOptions({
    url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    poolSize: 1,
    connectTimeoutMs: 5000,
  }),
);
