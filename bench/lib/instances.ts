import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'pg';

export const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'dist', 'apps', 'api', 'src', 'main.js');

/** The runtime flags of the service as `npm run start:prod` and the Dockerfile start it. */
export const SERVICE_NODE_ARGS = ['--max-old-space-size=256'];

/** Secrets of the benchmark deployment (distinct per type, >= 32 bytes, never used elsewhere). */
export const BENCH_SECRETS = {
  RETAILER_JWT_PRIVATE_KEY: 'bench-retailer-secret-0123456789abcdef0123456789',
  ADMIN_JWT_PRIVATE_KEY: 'bench-admin-secret-0123456789abcdef0123456789ab',
  PORTAL_JWT_PRIVATE_KEY: 'bench-portal-secret-0123456789abcdef0123456789a',
  BRIDGE_JWT_PRIVATE_KEY: 'bench-bridge-secret-0123456789abcdef0123456789a',
  REACTIVATE_JWT_PRIVATE_KEY: 'bench-reactivate-secret-0123456789abcdef012345',
  APP_ENCRYPTION_KEY: '6b'.repeat(32),
};

export const BRIDGE_ISSUER = 'bench-sibling';

export interface Services {
  databaseUrl: string;
  redisUrl: string;
}

/** A fresh database for the run (dropped and created again), on the server of BENCH_DATABASE_URL. */
export async function freshDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = target.pathname.slice(1);
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`BENCH_DATABASE_URL must name a plain database, got "${name}"`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
}

/** Children still running when the benchmark exits (a crash included) are killed with it. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

async function portAnswers(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

export class Instance {
  private constructor(
    readonly name: string,
    readonly port: number,
    readonly child: ChildProcess,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/api/v1`;
  }

  /** Starts the built service (dist/) as its own process and waits until it is ready. */
  static async start(name: string, port: number, services: Services, env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<Instance> {
    if (await portAnswers(port)) throw new Error(`port ${port} is already taken (a service left over from an earlier run?)`);
    mkdirSync(join(ROOT, 'bench', 'logs'), { recursive: true });
    const log = createWriteStream(join(ROOT, 'bench', 'logs', `${name}.log`));
    // Extra runtime flags for an experiment, e.g. BENCH_NODE_ARGS='--max-semi-space-size=64'.
    const extraArgs = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
    const child = spawn(process.execPath, [...SERVICE_NODE_ARGS, ...extraArgs, ...nodeArgs, MAIN], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'benchmark',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: services.databaseUrl,
        DATABASE_POOL_SIZE: '10',
        REDIS_URL: services.redisUrl,
        REDIS_KEY_PREFIX: `auth-bench:${process.pid}:`,
        LOG_LEVEL: 'warn',
        COOKIE_SECURE: 'false',
        BENCH_PROBES: 'true',
        BRIDGE_ALLOWED_ISSUERS: BRIDGE_ISSUER,
        // The benchmark is one client address: keep the per-address limits out of its way.
        RATE_LIMIT_LOGIN_IP: '100000000/1m',
        RATE_LIMIT_REGISTER_IP: '100000/1m',
        LOGIN_MAX_ATTEMPTS: '1000',
        MAX_SESSIONS_PER_USER: '1000',
        ...BENCH_SECRETS,
        // Extra service variables for an experiment, e.g. BENCH_SERVICE_ENV='{"PASSWORD_HASH_THREADS":"1"}'.
        ...(process.env.BENCH_SERVICE_ENV ? (JSON.parse(process.env.BENCH_SERVICE_ENV) as Record<string, string>) : {}),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    const instance = new Instance(name, port, child);
    running.add(child);
    child.once('exit', () => running.delete(child));
    await instance.waitReady();
    return instance;
  }

  private async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`${this.name} exited with ${this.child.exitCode} (see bench/logs/${this.name}.log)`);
      try {
        const res = await fetch(`${this.url}/health/ready`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${this.name} did not become ready`);
  }

  /** Resident set size of the process, in MB (Linux /proc). */
  async rssMb(): Promise<number> {
    const status = await readFile(`/proc/${this.child.pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    return kb / 1024;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
