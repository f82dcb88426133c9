import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const MAIN = resolve(__dirname, '../../dist/apps/api/src/main.js');

function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

/** Runs the built service as the README's start line does, with only the given environment. */
function run(env: Record<string, string>, cwd: string): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  let out = '';
  const child = spawn(process.execPath, [MAIN], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, output: () => out, exit };
}

async function waitForReady(port: number, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/health/ready`);
      if (res.status === 200) return (await res.json()) as Record<string, unknown>;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the service did not become ready');
}

describe('starting the built service', () => {
  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" (npm test does it first)`);
  });

  it('starts with no configuration on embedded Postgres, keeps its state in ./.data, and survives a restart', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'auth-fresh-'));
    const port = await freePort();
    const first = run({ PORT: String(port) }, cwd);
    try {
      const body = await waitForReady(port);
      expect(body).toEqual({ success: true, data: { status: 'ok', checks: { database: 'up', redis: 'disabled' } } });
    } finally {
      first.child.kill('SIGTERM');
    }
    expect(await first.exit).toBe(0);
    const secrets = readFileSync(join(cwd, '.data', 'secrets.json'), 'utf8');
    expect(existsSync(join(cwd, '.data', 'pglite', 'PG_VERSION'))).toBe(true);
    expect(first.output()).not.toContain(JSON.parse(secrets).RETAILER_JWT_PRIVATE_KEY);

    const second = run({ PORT: String(port) }, cwd);
    try {
      await waitForReady(port);
    } finally {
      second.child.kill('SIGTERM');
    }
    expect(await second.exit).toBe(0);
    expect(readFileSync(join(cwd, '.data', 'secrets.json'), 'utf8')).toBe(secrets);
  }, 120_000);

  it.each([
    [{}, /DATABASE_URL is required in production/],
    [{ DATABASE_URL: 'postgres://127.0.0.1:9/x' }, /RETAILER_JWT_PRIVATE_KEY is required in production/],
  ])('refuses to start in production without its secrets, with one line naming the variable', async (extra, message) => {
    const cwd = mkdtempSync(join(tmpdir(), 'auth-prod-'));
    const proc = run({ NODE_ENV: 'production', ...extra }, cwd);
    expect(await proc.exit).toBe(1);
    const lines = proc.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(existsSync(join(cwd, '.data'))).toBe(false);
  });
});
