/**
 * `npm run bench`: the auth hot paths under load, against real Postgres and Redis.
 *
 * Starts the built service (dist/) as separate processes on a fresh database, warms up, runs
 * each scenario with autocannon (50 connections, BENCH_DURATION seconds, BENCH_REPEATS times
 * for the comparisons, medians reported), then writes BENCHMARKS.md and bench/results.json.
 *
 *   BENCH_DATABASE_URL  postgres://postgres@127.0.0.1:5432/auth_bench (dropped and re-created)
 *   BENCH_REDIS_URL     redis://127.0.0.1:6379
 *   BENCH_DURATION      10 (seconds per run)      BENCH_REPEATS  3
 *   BENCH_ONLY          comma-separated scenario names to run (guards,login,refresh,revocation,memory,adapter)
 *   BENCH_SERVICE_ENV   extra service variables for an experiment, JSON: '{"PASSWORD_HASH_THREADS":"1"}'
 *   BENCH_NODE_ARGS     extra runtime flags of the service for an experiment: '--min-semi-space-size=16'
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as bcrypt from 'bcrypt';
import { bridgeSession, bridgeSignIn, createReportingKey, guardedCode, login, logout, Owner, PASSWORD, registerOwner } from './lib/client';
import { freshDatabase, Instance, ROOT, Services } from './lib/instances';
import { load, LoadResult, median, paced, percentile, round } from './lib/load';
import { adapterComparison } from './adapter';
import { renderReport, Scenario } from './report';

const services: Services = {
  databaseUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/auth_bench',
  redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
};
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const CONNECTIONS = 50;
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : null;
const wanted = (name: string) => !ONLY || ONLY.has(name);

const log = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

interface Fixture {
  owners: Owner[];
  token: string;
  apiKey: string;
}

async function fixture(a: Instance): Promise<Fixture> {
  const owners: Owner[] = [];
  for (let i = 0; i < 16; i++) owners.push(await registerOwner(a, `owner${i}`));
  const { token } = await login(a, owners[0].email);
  const apiKey = await createReportingKey(a, token);
  return { owners, token, apiKey };
}

async function warmUp(a: Instance, f: Fixture): Promise<void> {
  log('warm-up');
  for (const [path, headers] of [
    ['/bench/open', {}],
    ['/bench/retailer', bearer(f.token)],
    ['/bench/api-key', bearer(f.apiKey)],
  ] as const) {
    await load({ url: `${a.url}${path}`, connections: CONNECTIONS, durationS: 3, headers });
  }
}

/** Guard cost: the same handler unguarded, behind RetailerAuthGuard, behind ApiKeyAuthGuard. */
async function guardCost(a: Instance, f: Fixture): Promise<Scenario> {
  const rounds: Array<Record<'open' | 'retailer' | 'apiKey', LoadResult>> = [];
  for (let r = 0; r < REPEATS; r++) {
    const run = (path: string, headers: Record<string, string> = {}) => load({ url: `${a.url}${path}`, connections: CONNECTIONS, durationS: DURATION, headers });
    // Rotate the order so that drift of a shared machine does not favour one route.
    const order = [
      ['open', () => run('/bench/open')],
      ['retailer', () => run('/bench/retailer', bearer(f.token))],
      ['apiKey', () => run('/bench/api-key', bearer(f.apiKey))],
    ] as const;
    const results = {} as Record<'open' | 'retailer' | 'apiKey', LoadResult>;
    for (let i = 0; i < order.length; i++) {
      const [name, go] = order[(i + r) % order.length];
      results[name] = await go();
      log(`guards #${r + 1} ${name}: ${round(results[name].rps, 0)} req/s, p99 ${results[name].p99} ms, failures ${results[name].failures}`);
    }
    rounds.push(results);
  }
  const ratio = (fn: (x: Record<'open' | 'retailer' | 'apiKey', LoadResult>) => number) => median(rounds.map(fn));
  const retailerThroughput = ratio((x) => x.retailer.rps / x.open.rps);
  const keyThroughput = ratio((x) => x.apiKey.rps / x.open.rps);
  const retailerP99 = ratio((x) => x.retailer.p99 / Math.max(1, x.open.p99));
  const keyP99 = ratio((x) => x.apiKey.p99 / Math.max(1, x.open.p99));
  return {
    name: 'Guard cost',
    rows: [
      { metric: 'unguarded throughput (median)', value: `${round(median(rounds.map((x) => x.open.rps)), 0)} req/s` },
      { metric: 'RetailerAuthGuard throughput / unguarded', value: pct(retailerThroughput), target: '>= 85 %', pass: retailerThroughput >= 0.85 },
      { metric: 'ApiKeyAuthGuard throughput / unguarded', value: pct(keyThroughput), target: '>= 80 %', pass: keyThroughput >= 0.8 },
      { metric: 'RetailerAuthGuard p99 / unguarded p99', value: `${round(retailerP99)}x`, target: '<= 1.5x', pass: retailerP99 <= 1.5 },
      { metric: 'ApiKeyAuthGuard p99 / unguarded p99', value: `${round(keyP99)}x`, target: '<= 1.5x', pass: keyP99 <= 1.5 },
    ],
    raw: rounds,
  };
}

/** The service's cumulative event-loop busy time (a bench probe route). */
async function eventLoopBusyMs(a: Instance): Promise<number> {
  const response = await fetch(`${a.url}/bench/event-loop`);
  const body = (await response.json()) as { data: { activeMs: number } };
  return body.data.activeMs;
}

/** The time of one bcrypt compare at the service's cost, in this process (median of 5). */
async function hashTimeMs(): Promise<number> {
  const hash = await bcrypt.hash(PASSWORD, 12);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await bcrypt.compare(PASSWORD, hash);
    times.push(performance.now() - t0);
  }
  return median(times);
}

function loginRequests(owners: Owner[]) {
  let next = 0;
  return [
    {
      method: 'POST',
      path: '/api/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req: Record<string, unknown>, context: Record<string, unknown>) => {
        context.email ??= owners[next++ % owners.length].email;
        return { ...req, body: JSON.stringify({ email: context.email, password: PASSWORD }) };
      },
    },
  ];
}

/**
 * Login isolation. The guarded route is offered a steady 200 requests/s (`paced`: open loop, so
 * its latency shows how quickly the event loop answers, not how a saturated server queues), once
 * idle and once while a login flood keeps every hashing thread busy. Then logins alone, to
 * compare with what the hash allows. Queued logins outlive a run; the next run waits for them.
 */
async function loginIsolation(a: Instance, f: Fixture): Promise<{ scenario: Scenario; loginRps: number }> {
  const hashMs = await hashTimeMs();
  const capacity = (cpus().length / hashMs) * 1000;
  const drain = () => new Promise((resolve) => setTimeout(resolve, 6_000));
  const rounds: Array<{ idle: LoadResult; flooded: LoadResult; logins: LoadResult; loginsAlone: LoadResult; loopMsPerLogin: number }> = [];
  for (let r = 0; r < REPEATS; r++) {
    const guarded = () => paced({ url: `${a.url}/bench/retailer`, rate: 200, durationS: DURATION, headers: bearer(f.token) });
    const idle = await guarded();
    const [flooded, logins] = await Promise.all([guarded(), load({ url: a.url, connections: 16, durationS: DURATION, requests: loginRequests(f.owners) })]);
    await drain();
    const loopBefore = await eventLoopBusyMs(a);
    const loginsAlone = await load({ url: a.url, connections: 16, durationS: DURATION, requests: loginRequests(f.owners) });
    await drain();
    // The event loop's busy time over the logins (and their drain), per login answered.
    const loopMsPerLogin = ((await eventLoopBusyMs(a)) - loopBefore) / Math.max(1, loginsAlone.total);
    log(
      `login #${r + 1}: guarded p99 idle ${idle.p99} ms, under flood ${flooded.p99} ms; logins ${round(logins.rps, 1)}/s (alone ${round(loginsAlone.rps, 1)}/s, failures ${loginsAlone.failures}); event loop ${round(loopMsPerLogin, 2)} ms per login`,
    );
    rounds.push({ idle, flooded, logins, loginsAlone, loopMsPerLogin });
  }
  const p99Ratio = median(rounds.map((x) => x.flooded.p99 / Math.max(1, x.idle.p99)));
  const loginRps = median(rounds.map((x) => x.loginsAlone.rps));
  const ofCapacity = loginRps / capacity;
  return {
    loginRps,
    scenario: {
      name: 'Login isolation',
      rows: [
        { metric: 'one bcrypt compare at cost 12 (this machine, median of 5)', value: `${round(hashMs, 1)} ms` },
        { metric: 'hash capacity = cores / hash time', value: `${round(capacity, 1)} logins/s` },
        { metric: 'guarded route at 200 req/s: p99 idle -> during a login flood (medians)', value: `${median(rounds.map((x) => x.idle.p99))} -> ${median(rounds.map((x) => x.flooded.p99))} ms` },
        { metric: 'guarded p99 during flood / idle p99', value: `${round(p99Ratio)}x`, target: '<= 2x', pass: p99Ratio <= 2 },
        { metric: 'login throughput (median, 16 connections)', value: `${round(loginRps, 1)} logins/s` },
        { metric: 'event-loop busy time per login (median)', value: `${round(median(rounds.map((x) => x.loopMsPerLogin)), 2)} ms` },
        { metric: 'login throughput / hash capacity', value: pct(ofCapacity), target: '>= 85 %', pass: ofCapacity >= 0.85 },
      ],
      raw: { hashMs, capacity, rounds },
    },
  };
}

/** Refresh: every connection rotates its own session's refresh token chain. */
async function refresh(a: Instance, f: Fixture, loginRps: number): Promise<Scenario> {
  const rounds: LoadResult[] = [];
  for (let r = 0; r < REPEATS; r++) {
    // Sessions from bridge exchanges (no password hash to wait for), one per connection.
    const pool: string[] = [];
    for (let i = 0; i < CONNECTIONS; i++) pool.push((await bridgeSignIn(a, f.owners[i % f.owners.length])).refreshToken);
    const result = await load({
      url: a.url,
      connections: CONNECTIONS,
      durationS: DURATION,
      keepContext: true,
      requests: [
        {
          method: 'POST',
          path: '/api/v1/auth/refresh',
          headers: { 'content-type': 'application/json' },
          setupRequest: (req, context) => {
            context.refreshToken ??= pool.pop();
            return { ...req, body: JSON.stringify({ refreshToken: context.refreshToken }) };
          },
          onResponse: (status, body, context) => {
            if (status === 200) context.refreshToken = (JSON.parse(body) as { data: { refreshToken: string } }).data.refreshToken;
          },
        },
      ],
    });
    log(`refresh #${r + 1}: ${round(result.rps, 0)} req/s, p99 ${result.p99} ms, failures ${result.failures}`);
    rounds.push(result);
  }
  const refreshRps = median(rounds.map((x) => x.rps));
  const ratio = refreshRps / loginRps;
  return {
    name: 'Refresh',
    rows: [
      { metric: 'refresh throughput (median; each connection its own rotating chain)', value: `${round(refreshRps, 0)} req/s` },
      { metric: 'refresh throughput / login throughput', value: `${round(ratio, 1)}x`, target: '>= 8x', pass: ratio >= 8 },
      { metric: 'refresh failures (non-2xx) across runs', value: String(rounds.reduce((n, x) => n + x.failures, 0)) },
    ],
    raw: rounds,
  };
}

/** Revocation: logout on A, then requests on B until the first TOKEN_REVOKED. */
async function revocation(a: Instance, b: Instance, f: Fixture): Promise<Scenario> {
  const samples: number[] = [];
  for (let i = 0; i < 200; i++) {
    const token = await bridgeSession(a, f.owners[i % f.owners.length]);
    if ((await guardedCode(b, token)) !== undefined) throw new Error('a fresh token was refused on B');
    await logout(a, token);
    const t0 = performance.now();
    while ((await guardedCode(b, token)) !== 'TOKEN_REVOKED') {
      if (performance.now() - t0 > 5_000) throw new Error('B never refused a logged-out token');
    }
    samples.push(performance.now() - t0);
  }
  const p99 = percentile(samples, 99);
  log(`revocation: p50 ${round(percentile(samples, 50))} ms, p99 ${round(p99)} ms, max ${round(Math.max(...samples))} ms`);
  return {
    name: 'Revocation across instances',
    rows: [
      { metric: 'logout on A -> first TOKEN_REVOKED on B, p50 (200 logouts)', value: `${round(percentile(samples, 50))} ms` },
      { metric: 'same, p99', value: `${round(p99)} ms`, target: '<= 100 ms', pass: p99 <= 100 },
      { metric: 'same, max', value: `${round(Math.max(...samples))} ms` },
    ],
    raw: samples,
  };
}

/** Memory: one instance's RSS after 1,000 and after 100,000 guarded requests. */
async function memory(f: Fixture): Promise<Scenario> {
  const c = await Instance.start('memory', 3203, services);
  try {
    const url = `${c.url}/bench/retailer`;
    await load({ url, connections: CONNECTIONS, amount: 1_000, headers: bearer(f.token) });
    const after1k = await c.rssMb();
    await load({ url, connections: CONNECTIONS, amount: 99_000, headers: bearer(f.token) });
    const after100k = await c.rssMb();
    const ratio = after100k / after1k;
    log(`memory: ${round(after1k, 1)} MB after 1k, ${round(after100k, 1)} MB after 100k`);
    return {
      name: 'Memory',
      rows: [
        { metric: 'RSS after 1,000 guarded requests', value: `${round(after1k, 1)} MB` },
        { metric: 'RSS after 100,000 guarded requests', value: `${round(after100k, 1)} MB`, target: '< 250 MB', pass: after100k < 250 },
        { metric: 'growth 1,000 -> 100,000', value: `${round(ratio, 2)}x`, target: '<= 1.2x', pass: ratio <= 1.2 },
      ],
      raw: { after1k, after100k },
    };
  } finally {
    await c.stop();
  }
}

const pct = (x: number) => `${round(x * 100, 1)} %`;

async function main(): Promise<void> {
  const started = Date.now();
  log(`fresh database ${services.databaseUrl.replace(/\/\/[^@]*@/, '//')}; Redis ${services.redisUrl}`);
  await freshDatabase(services.databaseUrl);
  const a = await Instance.start('a', 3201, services);
  const b = await Instance.start('b', 3202, services);
  const scenarios: Scenario[] = [];
  try {
    const f = await fixture(a);
    await warmUp(a, f);
    if (wanted('guards')) scenarios.push(await guardCost(a, f));
    let loginRps = NaN;
    if (wanted('login') || wanted('refresh')) {
      const isolation = await loginIsolation(a, f);
      loginRps = isolation.loginRps;
      scenarios.push(isolation.scenario);
    }
    if (wanted('refresh')) scenarios.push(await refresh(a, f, loginRps));
    if (wanted('revocation')) scenarios.push(await revocation(a, b, f));
    await a.stop();
    await b.stop();
    if (wanted('memory')) scenarios.push(await memory(f));
    if (wanted('adapter')) scenarios.push(await adapterComparison(f.token, DURATION, REPEATS, CONNECTIONS, log));
  } finally {
    await a.stop();
    await b.stop();
  }
  const meta = {
    date: new Date().toISOString(),
    command: `npm run bench${process.env.BENCH_ONLY ? ` (BENCH_ONLY=${process.env.BENCH_ONLY})` : ''}`,
    node: process.version,
    cpus: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
    memoryGb: round(totalmem() / 1024 ** 3, 1),
    durationS: DURATION,
    repeats: REPEATS,
    connections: CONNECTIONS,
    elapsedS: round((Date.now() - started) / 1000, 0),
  };
  writeFileSync(join(ROOT, 'bench', 'results.json'), `${JSON.stringify({ meta, scenarios }, null, 2)}\n`);
  writeFileSync(join(ROOT, 'BENCHMARKS.md'), renderReport(meta, scenarios));
  const failed = scenarios.flatMap((s) => s.rows.filter((r) => r.pass === false).map((r) => `${s.name}: ${r.metric}`));
  log(failed.length ? `targets missed: ${failed.join('; ')}` : 'every target met');
  log('wrote BENCHMARKS.md and bench/results.json');
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
