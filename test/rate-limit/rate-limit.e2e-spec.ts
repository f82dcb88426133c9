import { randomBytes } from 'node:crypto';
import { Controller, HttpCode, Module, Param, Post, Req } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import Redis from 'ioredis';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { Public } from '@app/common/auth';
import { normalizeEmail } from '@app/common/crypto';
import { ApiError } from '@app/common/errors';
import { clientIp, type HttpRequest } from '@app/common/http';
import { RedisService } from '@app/common/redis';
import { RateLimitModule } from '../../apps/api/src/rate-limit/rate-limit.module';
import { RateLimitService } from '../../apps/api/src/rate-limit/rate-limit.service';
import { hostPort } from '../support/services';
import { TcpProxy } from '../support/tcp-proxy';
import { hasRedis, startInstance, TestInstance } from '../support/test-app';

/** What a login route and a forgot-password route will do with the service, over real HTTP. */
@Controller('rate-limit-probe')
class RateLimitProbeController {
  constructor(private readonly limits: RateLimitService) {}

  @Public()
  @HttpCode(200)
  @Post('login/:email')
  async login(@Param('email') email: string) {
    await this.limits.assertLoginAllowed(email);
    return this.limits.recordLoginFailure(email); // every attempt of the probe has a wrong password
  }

  @Public()
  @HttpCode(200)
  @Post('forgot')
  async forgot(@Req() req: HttpRequest) {
    await this.limits.consume('forgotPerIp', clientIp(req));
    return { sent: true };
  }
}

@Module({ imports: [RateLimitModule], controllers: [RateLimitProbeController] })
class RateLimitProbeModule {}

/**
 * Fresh emails and addresses per test: the database and Redis are shared by the whole run, and
 * other suites' counters must not meet ours. Addresses come from 198.18.0.0/15 (benchmarking),
 * which the other suites do not use.
 */
const uniqueEmail = (label: string): string => `${label}.${randomBytes(5).toString('hex')}@Example.test`;
let nextAddress = randomBytes(2).readUInt16BE() * 2; // a random start, so reruns against one store differ too
const uniqueIp = (): string => {
  // Handed out in sequence, never drawn: two draws from this range meet often enough to fail a run.
  const n = nextAddress++ % 2 ** 17;
  return `198.${18 + (n >> 16)}.${(n >> 8) & 0xff}.${n & 0xff}`;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  const outcome = await promise.then(
    () => 'resolved',
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(ApiError);
  return outcome as ApiError;
}

/** Asserts a 429 TOO_MANY_ATTEMPTS and returns its Retry-After, checked to be within 1..maxSeconds. */
async function expectTooMany(promise: Promise<unknown>, maxSeconds: number): Promise<number> {
  const err = await rejection(promise);
  expect({ status: err.status, code: err.code }).toEqual({ status: 429, code: 'TOO_MANY_ATTEMPTS' });
  const retryAfter = Number(err.headers?.['Retry-After']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(maxSeconds);
  return retryAfter;
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error('condition not met in time');
}

// TRUST_PROXY lets the HTTP probe choose its client address with X-Forwarded-For (not 127.0.0.1,
// which every suite shares).
const LIMITS = { LOGIN_MAX_ATTEMPTS: '3', RATE_LIMIT_FORGOT_IP: '2/1m', RATE_LIMIT_FORGOT_EMAIL: '5/1h', TRUST_PROXY: 'loopback' };
const WINDOW_SECONDS = 15 * 60; // the default LOCKOUT_WINDOW

const backends = [
  ...(hasRedis() ? [{ name: 'Redis', redis: true }] : []), // reason: no Redis reachable in this run
  { name: 'Postgres (no Redis)', redis: false },
];


describe.each(backends)('lockout and rate limits on $name', ({ redis }) => {
  let a: TestInstance;
  let limitsA: RateLimitService;

  beforeAll(async () => {
    a = await startInstance({ redis, imports: [RateLimitProbeModule], env: LIMITS });
    limitsA = a.app.get(RateLimitService);
  });
  afterAll(() => a?.close());

  it('keeps its counters in the expected store', () => {
    expect(limitsA.store).toBe(redis ? 'redis' : 'postgres');
  });

  it('answers attempts 1..LOGIN_MAX_ATTEMPTS normally and refuses the next with 429 and Retry-After', async () => {
    const email = uniqueEmail('lock');
    const results = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      await limitsA.assertLoginAllowed(email);
      results.push(await limitsA.recordLoginFailure(email));
    }
    expect(results).toEqual([
      { locked: false, failures: 1 },
      { locked: false, failures: 2 },
      { locked: true, failures: 3 },
    ]);
    const retryAfter = await expectTooMany(limitsA.assertLoginAllowed(email), WINDOW_SECONDS);
    expect(retryAfter).toBeGreaterThan(WINDOW_SECONDS - 30); // locked for a whole window from the locking failure

    // The same email in another spelling is the same email; another email is unaffected.
    await expectTooMany(limitsA.assertLoginAllowed(`  ${email.toUpperCase()} `), WINDOW_SECONDS);
    await expect(limitsA.assertLoginAllowed(uniqueEmail('other'))).resolves.toBeUndefined();

    // A failure that raced the lock is counted but does not report the lock a second time.
    expect(await limitsA.recordLoginFailure(email)).toEqual({ locked: false, failures: 4 });
  });

  it('shows the lockout over HTTP: 200, 200, 200, then 429 TOO_MANY_ATTEMPTS with a Retry-After header', async () => {
    const email = uniqueEmail('http');
    for (const locked of [false, false, true]) {
      const res = await request(a.http).post(`/api/v1/rate-limit-probe/login/${encodeURIComponent(email)}`).expect(200);
      expect(res.body.data.locked).toBe(locked);
    }
    const refused = await request(a.http).post(`/api/v1/rate-limit-probe/login/${encodeURIComponent(email)}`).expect(429);
    expect(refused.body.error.code).toBe('TOO_MANY_ATTEMPTS');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(WINDOW_SECONDS);
  });

  it('clears the count on a successful login, but not an active lock', async () => {
    const email = uniqueEmail('success');
    await limitsA.recordLoginFailure(email);
    await limitsA.recordLoginFailure(email);
    await limitsA.recordLoginSuccess(email);
    expect(await limitsA.recordLoginFailure(email)).toEqual({ locked: false, failures: 1 });
    expect(await limitsA.recordLoginFailure(email)).toEqual({ locked: false, failures: 2 });
    await limitsA.assertLoginAllowed(email);

    expect(await limitsA.recordLoginFailure(email)).toEqual({ locked: true, failures: 3 });
    await limitsA.recordLoginSuccess(email);
    await expectTooMany(limitsA.assertLoginAllowed(email), WINDOW_SECONDS);
  });

  it('lifts a lock on unlock, and counts from zero again', async () => {
    const email = uniqueEmail('unlock');
    for (let i = 0; i < 3; i++) await limitsA.recordLoginFailure(email);
    await expectTooMany(limitsA.assertLoginAllowed(email), WINDOW_SECONDS);
    await limitsA.unlock(email);
    await expect(limitsA.assertLoginAllowed(email)).resolves.toBeUndefined();
    expect(await limitsA.recordLoginFailure(email)).toEqual({ locked: false, failures: 1 });
  });

  it('refuses the event after a per-IP limit with 429 and Retry-After, per bucket and per address', async () => {
    const ip = uniqueIp();
    await limitsA.consume('forgotPerIp', ip);
    await limitsA.consume('forgotPerIp', `::ffff:${ip}`); // the same address, IPv4-mapped
    await expectTooMany(limitsA.consume('forgotPerIp', ip), 60);

    await expect(limitsA.consume('forgotPerIp', uniqueIp())).resolves.toBeUndefined(); // another address
    await expect(limitsA.consume('registerPerIp', ip)).resolves.toBeUndefined(); // another bucket
    await expect(limitsA.consume('loginPerIp', ip)).resolves.toBeUndefined();

    // A per-email bucket is keyed by the email, whatever its spelling, and not by the lockout.
    const email = uniqueEmail('forgot');
    for (let i = 0; i < 5; i++) await limitsA.consume('forgotPerEmail', i % 2 ? email.toUpperCase() : email); // 5/1h
    await expectTooMany(limitsA.consume('forgotPerEmail', email), 3600);
    await expect(limitsA.assertLoginAllowed(email)).resolves.toBeUndefined();
  });

  it('refuses over HTTP with 429 and a Retry-After header', async () => {
    const ip = uniqueIp();
    const forgot = (from: string) => request(a.http).post('/api/v1/rate-limit-probe/forgot').set('X-Forwarded-For', from);
    await forgot(ip).expect(200);
    await forgot(ip).expect(200);
    const refused = await forgot(ip).expect(429);
    expect(refused.body.error.code).toBe('TOO_MANY_ATTEMPTS');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    await forgot(uniqueIp()).expect(200);
  });

  describe('across two instances', () => {
    let b: TestInstance;
    let limitsB: RateLimitService;
    beforeAll(async () => {
      b = await startInstance({ redis, imports: [RateLimitModule], env: LIMITS });
      limitsB = b.app.get(RateLimitService);
    });
    afterAll(() => b?.close());

    it('counts failures spread over two instances toward one lockout, seen by both', async () => {
      const email = uniqueEmail('shared');
      expect(await limitsA.recordLoginFailure(email)).toEqual({ locked: false, failures: 1 });
      expect(await limitsB.recordLoginFailure(email)).toEqual({ locked: false, failures: 2 });
      await limitsB.assertLoginAllowed(email);
      expect(await limitsA.recordLoginFailure(email)).toEqual({ locked: true, failures: 3 });
      await expectTooMany(limitsB.assertLoginAllowed(email), WINDOW_SECONDS);
      await expectTooMany(limitsA.assertLoginAllowed(email), WINDOW_SECONDS);
    });

    it('reports the lock exactly once when the failures arrive at the same time on both instances', async () => {
      const email = uniqueEmail('race');
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? limitsA : limitsB).recordLoginFailure(email)),
      );
      expect(results.filter((r) => r.locked)).toHaveLength(1);
      expect(results.map((r) => r.failures).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6]);
      await expectTooMany(limitsA.assertLoginAllowed(email), WINDOW_SECONDS);
    });

    it('shares success, unlock and per-address counts too', async () => {
      const email = uniqueEmail('shared-reset');
      await limitsA.recordLoginFailure(email);
      await limitsB.recordLoginSuccess(email);
      expect(await limitsA.recordLoginFailure(email)).toEqual({ locked: false, failures: 1 });
      await limitsB.recordLoginFailure(email);
      expect(await limitsA.recordLoginFailure(email)).toEqual({ locked: true, failures: 3 });
      await limitsB.unlock(email);
      await expect(limitsA.assertLoginAllowed(email)).resolves.toBeUndefined();

      const ip = uniqueIp();
      await limitsA.consume('forgotPerIp', ip);
      await limitsB.consume('forgotPerIp', ip);
      await expectTooMany(limitsA.consume('forgotPerIp', ip), 60);
      await expectTooMany(limitsB.consume('forgotPerIp', ip), 60);
    });
  });
});

describe.each(backends)('a lock on $name', ({ redis }) => {
  it('lifts the lock by itself when the window has passed', async () => {
    const short = await startInstance({ redis, imports: [RateLimitModule], env: { LOGIN_MAX_ATTEMPTS: '2', LOCKOUT_WINDOW: '2s' } });
    try {
      const limits = short.app.get(RateLimitService);
      const email = uniqueEmail('expiry');
      await limits.recordLoginFailure(email);
      expect(await limits.recordLoginFailure(email)).toEqual({ locked: true, failures: 2 });
      await expectTooMany(limits.assertLoginAllowed(email), 2);
      await sleep(2_200);
      await expect(limits.assertLoginAllowed(email)).resolves.toBeUndefined();
      expect(await limits.recordLoginFailure(email)).toEqual({ locked: false, failures: 1 });
    } finally {
      await short.close();
    }
  });
});

describe('the Postgres store', () => {
  it('keeps no email in clear in the rate_limits table', async () => {
    const instance = await startInstance({ redis: false, imports: [RateLimitModule] });
    try {
      const limits = instance.app.get(RateLimitService);
      const email = uniqueEmail('rows');
      await limits.recordLoginFailure(email);
      await limits.consume('forgotPerEmail', email);
      const dataSource = instance.app.get<DataSource>(getDataSourceToken());
      const hash = limits.digest(normalizeEmail(email));
      const rows: Array<{ key: string }> = await dataSource.query(`SELECT key FROM rate_limits WHERE key LIKE $1 ORDER BY key`, [`%${hash}`]);
      expect(rows.map((r) => r.key)).toEqual([`rl:forgot:email:${hash}`, `rl:lf:${hash}`]);
      const local = normalizeEmail(email).split('@')[0];
      expect(await dataSource.query(`SELECT key FROM rate_limits WHERE key LIKE $1`, [`%${local}%`])).toEqual([]);
    } finally {
      await instance.close();
    }
  });

  it('answers 503 SERVICE_UNAVAILABLE, never 429 or 500, while the database is away, and recovers', async () => {
    const target = hostPort(process.env.E2E_DATABASE_URL!, 5432);
    const proxy = new TcpProxy(target.host, target.port);
    await proxy.start();
    const url = new URL(process.env.E2E_DATABASE_URL!);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const instance = await startInstance({
      redis: false,
      imports: [RateLimitProbeModule],
      env: { DATABASE_URL: url.toString(), DATABASE_CONNECT_TIMEOUT: '1s' },
    });
    try {
      const limits = instance.app.get(RateLimitService);
      const email = uniqueEmail('db-down');
      await limits.recordLoginFailure(email);
      await proxy.stop();

      const started = Date.now();
      for (const call of [
        () => limits.assertLoginAllowed(email),
        () => limits.recordLoginFailure(email),
        () => limits.recordLoginSuccess(email),
        () => limits.unlock(email),
        () => limits.consume('forgotPerIp', uniqueIp()),
      ]) {
        const err = await rejection(call());
        expect({ status: err.status, code: err.code }).toEqual({ status: 503, code: 'SERVICE_UNAVAILABLE' });
      }
      const res = await request(instance.http).post(`/api/v1/rate-limit-probe/login/${encodeURIComponent(email)}`);
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('SERVICE_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(10_000);

      await proxy.start();
      await eventually(async () => (await request(instance.http).post(`/api/v1/rate-limit-probe/login/${encodeURIComponent(email)}`)).status === 200);
    } finally {
      await instance.close();
      await proxy.stop();
    }
  });
});

const describeRedis = hasRedis() ? describe : describe.skip; // reason: no Redis reachable in this run
describeRedis('the Redis store', () => {
  it('keeps every key under the run prefix, with no email in clear, and with an expiry', async () => {
    const instance = await startInstance({ imports: [RateLimitModule] });
    const raw = new Redis(process.env.E2E_REDIS_URL!); // no key prefix: sees the server as it is
    try {
      const limits = instance.app.get(RateLimitService);
      const email = uniqueEmail('keys');
      const ip = uniqueIp();
      await limits.recordLoginFailure(email);
      await limits.consume('forgotPerEmail', email);
      await limits.consume('loginPerIp', ip);

      const scan = async (pattern: string): Promise<string[]> => {
        const found: string[] = [];
        let cursor = '0';
        do {
          const [next, keys] = await raw.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          found.push(...keys);
          cursor = next;
        } while (cursor !== '0');
        return found.sort();
      };
      const prefix = `auth-e2e:${process.env.E2E_RUN_ID}:`;
      expect(instance.config.redis.keyPrefix).toBe(prefix);
      const hash = limits.digest(normalizeEmail(email));
      expect(await scan(`*${hash}*`)).toEqual([`${prefix}rl:forgot:email:${hash}`, `${prefix}rl:lf:${hash}`]);
      expect(await scan(`*${limits.digest(ip)}*`)).toEqual([`${prefix}rl:login:ip:${limits.digest(ip)}`]);
      expect(await scan(`*${normalizeEmail(email).split('@')[0]}*`)).toEqual([]);
      expect(await scan(`*${ip}*`)).toEqual([]);
      for (const key of await scan(`${prefix}rl:*`)) expect(await raw.pttl(key)).toBeGreaterThan(0);
    } finally {
      raw.disconnect();
      await instance.close();
    }
  });

  it('keeps limiting, per instance, while Redis is away, and finds its shared state again when it returns', async () => {
    const target = hostPort(process.env.E2E_REDIS_URL!, 6379);
    const proxy = new TcpProxy(target.host, target.port);
    await proxy.start();
    const instance = await startInstance({
      imports: [RateLimitModule],
      env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}`, LOGIN_MAX_ATTEMPTS: '2', RATE_LIMIT_FORGOT_IP: '2/1m' },
    });
    try {
      const limits = instance.app.get(RateLimitService);
      const lockedInRedis = uniqueEmail('before');
      await limits.recordLoginFailure(lockedInRedis);
      expect(await limits.recordLoginFailure(lockedInRedis)).toEqual({ locked: true, failures: 2 });
      await expectTooMany(limits.assertLoginAllowed(lockedInRedis), WINDOW_SECONDS);

      await proxy.stop();
      const started = Date.now();
      const email = uniqueEmail('outage');
      await expect(limits.assertLoginAllowed(email)).resolves.toBeUndefined();
      expect(await limits.recordLoginFailure(email)).toEqual({ locked: false, failures: 1 });
      expect(await limits.recordLoginFailure(email)).toEqual({ locked: true, failures: 2 });
      await expectTooMany(limits.assertLoginAllowed(email), WINDOW_SECONDS);
      await limits.recordLoginSuccess(email);
      await limits.unlock(email);
      await expect(limits.assertLoginAllowed(email)).resolves.toBeUndefined();
      const ip = uniqueIp();
      await limits.consume('forgotPerIp', ip);
      await limits.consume('forgotPerIp', ip);
      await expectTooMany(limits.consume('forgotPerIp', ip), 60);
      expect(Date.now() - started).toBeLessThan(3_000); // no call waited for the missing Redis

      await proxy.start();
      await eventually(() => instance.app.get(RedisService).ping());
      // Back on Redis: the lock written before the outage is in force again.
      await eventually(() => limits.assertLoginAllowed(lockedInRedis).then(() => false, (err) => err instanceof ApiError && err.status === 429));
      await expectTooMany(limits.assertLoginAllowed(lockedInRedis), WINDOW_SECONDS);
    } finally {
      await instance.close();
      await proxy.stop();
    }
  });
});
