import { Agent, get as httpGet } from 'node:http';
import { performance } from 'node:perf_hooks';
// autocannon ships no types; the few fields used here are typed below.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (options: Record<string, unknown>) => Promise<AutocannonResult>;

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** One request template of autocannon (`setupRequest` and `onResponse` get a per-connection context). */
export interface LoadRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: Record<string, unknown>, context: Record<string, unknown>) => Record<string, unknown>;
  onResponse?: (status: number, body: string, context: Record<string, unknown>) => void;
}

export interface LoadResult {
  /** mean requests per second over the run */
  rps: number;
  p50: number;
  p99: number;
  /** requests answered with anything but 2xx, plus connection errors and timeouts */
  failures: number;
  total: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  durationS?: number;
  amount?: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  requests?: LoadRequest[];
  /** Offered load in requests per second across all connections (open loop); none: as fast as answered. */
  overallRate?: number;
  /**
   * Keep each connection's `context` across its requests. autocannon clones a fresh context each
   * time it loops over `requests`, which would lose state a connection carries from one response
   * to its next request (a rotating refresh token).
   */
  keepContext?: boolean;
}

/** One autocannon run (programmatic, no output of its own). */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    ...(options.amount ? { amount: options.amount } : { duration: options.durationS ?? 10 }),
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
    requests: options.requests,
    timeout: 30,
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
    ...(options.keepContext
      ? {
          setupClient: (client: { requestIterator: { resetContext(): void } }) => {
            client.requestIterator.resetContext = () => undefined;
          },
        }
      : {}),
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures: result.non2xx + result.errors + result.timeouts,
    total: result.requests.total,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * A steady open-loop probe: one request every 1000/rate ms whatever the answers, over a few
 * kept-alive connections, each latency measured from its own send. Unlike a closed loop (or
 * autocannon's per-second rate, which sends each second's quota in a burst), the latency then
 * shows how quickly the server answers, not how long a queue the client built.
 */
export async function paced(options: { url: string; headers?: Record<string, string>; rate: number; durationS: number }): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const latencies: number[] = [];
  let failures = 0;
  const inflight: Array<Promise<void>> = [];
  const started = performance.now();
  const interval = 1000 / options.rate;
  for (let i = 0; performance.now() - started < options.durationS * 1000; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const sent = performance.now();
    inflight.push(
      new Promise<void>((resolve) => {
        const req = httpGet(options.url, { agent, headers: options.headers }, (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - sent);
            if (res.statusCode !== 200) failures++;
            resolve();
          });
        });
        req.on('error', () => {
          failures++;
          resolve();
        });
      }),
    );
  }
  await Promise.all(inflight);
  agent.destroy();
  const elapsed = (performance.now() - started) / 1000;
  return { rps: latencies.length / elapsed, p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), failures, total: latencies.length };
}
