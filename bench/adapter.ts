import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BENCH_SECRETS, ROOT, SERVICE_NODE_ARGS } from './lib/instances';
import { load, LoadResult, median, round } from './lib/load';
import type { Scenario } from './report';

/** Starts bench/adapter-app.ts on one adapter; resolves once it listens, with a stop function. */
async function startProbe(adapter: 'express' | 'fastify', port: number): Promise<() => Promise<void>> {
  const child = spawn(
    process.execPath,
    [...SERVICE_NODE_ARGS, '-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', join(ROOT, 'bench', 'adapter-app.ts'), adapter, String(port)],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'benchmark', DATA_DIR: join(ROOT, '.bench'), TS_NODE_TRANSPILE_ONLY: '1', ...BENCH_SECRETS },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`${adapter} probe exited with ${code}: ${stderr.slice(-2000)}`)));
  });
  return async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
}

/**
 * The same guarded route (the service's JWT strategy options and guard base, cookies parsed) on
 * Nest's Express and Fastify adapters, alternately, REPEATS times each.
 */
export async function adapterComparison(
  token: string,
  durationS: number,
  repeats: number,
  connections: number,
  log: (line: string) => void,
): Promise<Scenario> {
  const rounds: Array<Record<'express' | 'fastify', LoadResult>> = [];
  for (let r = 0; r < repeats; r++) {
    const results = {} as Record<'express' | 'fastify', LoadResult>;
    const order: Array<'express' | 'fastify'> = r % 2 ? ['fastify', 'express'] : ['express', 'fastify'];
    for (const adapter of order) {
      const port = adapter === 'express' ? 3401 : 3402;
      const stop = await startProbe(adapter, port);
      try {
        const url = `http://127.0.0.1:${port}/api/v1/bench/retailer`;
        const headers = { authorization: `Bearer ${token}` };
        await load({ url, connections, durationS: 3, headers });
        results[adapter] = await load({ url, connections, durationS, headers });
        log(`adapter #${r + 1} ${adapter}: ${round(results[adapter].rps, 0)} req/s, p99 ${results[adapter].p99} ms, failures ${results[adapter].failures}`);
      } finally {
        await stop();
      }
    }
    rounds.push(results);
  }
  const speedup = median(rounds.map((x) => x.fastify.rps / x.express.rps));
  return {
    name: 'Adapter (Express vs Fastify, same guard and cookies)',
    rows: [
      { metric: 'Express: guarded route throughput (median)', value: `${round(median(rounds.map((x) => x.express.rps)), 0)} req/s` },
      { metric: 'Fastify: guarded route throughput (median)', value: `${round(median(rounds.map((x) => x.fastify.rps)), 0)} req/s` },
      { metric: 'Fastify / Express throughput', value: `${round(speedup, 2)}x` },
      { metric: 'p99 Express -> Fastify (medians)', value: `${median(rounds.map((x) => x.express.p99))} -> ${median(rounds.map((x) => x.fastify.p99))} ms` },
    ],
    raw: rounds,
  };
}
