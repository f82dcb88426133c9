import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The development database: Postgres compiled to WASM (PGlite), kept in `<dataDir>/pglite` and
 * served on a loopback port so the ordinary `pg` driver and TypeORM talk to it unchanged.
 * PGlite is a single connection: the pool in front of it must be of size 1.
 */
export class EmbeddedPostgres {
  private db: { close(): Promise<void> } | null = null;
  private server: { stop(): Promise<void> } | null = null;
  url = '';

  constructor(private readonly dataDir: string) {}

  async start(): Promise<string> {
    // Loaded lazily: production never pays for the WASM module.
    const { PGlite } = await import('@electric-sql/pglite');
    const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
    const dir = join(this.dataDir, 'pglite');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const db = await PGlite.create(dir);
    // Several clients may connect (the CLI next to a running service, or two instances in the
    // tests); pglite-socket queues their messages onto the one PGlite session.
    const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 16 });
    await server.start();
    const address = (server as unknown as { server: { address(): { port: number } } }).server.address();
    this.db = db;
    this.server = server;
    this.url = `postgres://postgres@127.0.0.1:${address.port}/postgres`;
    return this.url;
  }

  async stop(): Promise<void> {
    await this.server?.stop().catch(() => undefined);
    await this.db?.close().catch(() => undefined);
    this.server = null;
    this.db = null;
  }
}
