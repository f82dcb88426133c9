import type { DataSource, EntityManager } from 'typeorm';

/** A statement with a name: Postgres parses and plans it once per connection, not per call. */
export interface PreparedStatement {
  readonly name: string;
  readonly text: string;
}

interface PgClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * Runs a named prepared statement with `pg` itself, on the transaction's connection when given a
 * transaction's manager, else on the pool: the text goes over the wire (and is parsed and planned)
 * once per connection, where TypeORM's `query()` sends and parses it every time. For the few
 * statements of hot paths (a sign-in runs four). Rows come back as `pg` parses them.
 */
export async function runPrepared<T>(target: DataSource | EntityManager, statement: PreparedStatement, values: unknown[]): Promise<T[]> {
  const manager = 'manager' in target ? target.manager : target;
  const config = { name: statement.name, text: statement.text, values };
  const runner = manager.queryRunner;
  if (runner) {
    const client = (await runner.connect()) as PgClient;
    return (await client.query(config)).rows as T[];
  }
  const pool = (manager.connection.driver as unknown as { master?: PgClient }).master;
  if (!pool) return (await manager.query(statement.text, values)) as T[];
  return (await pool.query(config)).rows as T[];
}
