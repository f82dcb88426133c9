import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRedis, RateLimiterRes, RateLimiterStoreAbstract } from 'rate-limiter-flexible';
import type { Pool, QueryResult } from 'pg';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { hmacSha256, normalizeEmail } from '@app/common/crypto';
import { ApiError, ErrorCode } from '@app/common/errors';
import { normalizeIp } from '@app/common/http';
import { APP_LOGGER, AppLogger } from '@app/common/logging';
import { RedisService } from '@app/common/redis';

/** The per-IP and per-email limits of `config.rateLimits` (`RATE_LIMIT_*`). */
export type RateLimitBucket = keyof AppConfig['rateLimits'];

export interface LoginFailureResult {
  /** True exactly once per lockout: for the failure that locked the email (the caller audits it). */
  locked: boolean;
  /** Failures counted for the email in the current window. */
  failures: number;
}

/**
 * Key prefixes (rate-limiter-flexible's `keyPrefix`, joined to the key with ':'). In Redis the
 * client's own prefix (`REDIS_KEY_PREFIX`, applied by ioredis to every command, Lua scripts
 * included) comes first, so a key reads `auth:rl:lf:<hmac>`; in Postgres the row key of the
 * `rate_limits` table is `rl:lf:<hmac>` (the database belongs to one deployment).
 */
const LOGIN_FAILURES_PREFIX = 'rl:lf';
const LOGIN_LOCK_PREFIX = 'rl:lock';
const BUCKET_PREFIX: Record<RateLimitBucket, string> = {
  loginPerIp: 'rl:login:ip',
  registerPerIp: 'rl:register:ip',
  forgotPerIp: 'rl:forgot:ip',
  forgotPerEmail: 'rl:forgot:email',
  magicLinkPerIp: 'rl:magic:ip',
  magicLinkPerEmail: 'rl:magic:email',
  mfaPerIp: 'rl:mfa:ip',
  otpSendPerEmail: 'rl:otp:email',
  portalExchangePerIp: 'rl:portal:ip',
  oauthInstallPerIp: 'rl:oauth-install:ip',
  ssoStartPerIp: 'rl:sso-start:ip',
  ssoVerifyPerIp: 'rl:sso-verify:ip',
};

/** The table created by the RetailerSessions migration, in the library's own layout. */
const POSTGRES_TABLE = 'rate_limits';
/** How often expired rows of `rate_limits` are deleted (the library's own default cadence). */
const POSTGRES_PRUNE_INTERVAL_MS = 5 * 60_000;

/** rate-limiter-flexible counts in whole seconds. */
const toSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/**
 * Login lockout and per-IP / per-email rate limits, on rate-limiter-flexible, with counters
 * shared by every instance:
 *
 * - with Redis (`REDIS_URL`): `RateLimiterRedis` over the service's ioredis client (atomic Lua
 *   increments). Each Redis limiter has a `RateLimiterMemory` insurance limiter: while Redis is
 *   unreachable the library sends every call to it, so limits degrade to per-instance counting
 *   in process memory (and a lock held in Redis is not seen until Redis returns) instead of
 *   every login failing with 503. When Redis answers again its counters are used again and the
 *   in-memory ones are forgotten.
 * - without Redis: `RateLimiterPostgres` over TypeORM's pg Pool (statements unnamed, see
 *   `unnamedStatements`), table `rate_limits`. There is no insurance here: a database that does
 *   not answer makes these calls 503 SERVICE_UNAVAILABLE (never 429, never 500), like every
 *   other route that needs the database.
 *
 * Keys never hold an email or an address in clear: the normalised value is keyed-hashed (see digest()).
 * The lockout uses two keys per email: a failure counter (window `LOCKOUT_WINDOW` from the first
 * failure) and a lock (`LOCKOUT_WINDOW` from the failure that reached `LOGIN_MAX_ATTEMPTS`), so a
 * successful login can clear the counter without touching an active lock.
 */
@Injectable()
export class RateLimitService implements OnModuleDestroy {
  /** Where the counters live. */
  readonly store: 'redis' | 'postgres';
  private readonly maxAttempts: number;
  private readonly lockoutSeconds: number;
  private readonly loginFailures: RateLimiterStoreAbstract;
  private readonly loginLock: RateLimiterStoreAbstract;
  private readonly buckets: Record<RateLimitBucket, RateLimiterStoreAbstract>;
  private pruneTimer: NodeJS.Timeout | null = null;
  private readonly keyMac: Buffer;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(APP_LOGGER) private readonly logger: AppLogger,
    redis: RedisService,
    @InjectDataSource() dataSource: DataSource,
  ) {
    this.store = redis.enabled ? 'redis' : 'postgres';
    this.keyMac = hmacSha256(config.encryptionKey, 'rate-limit-keys-v1');
    this.maxAttempts = config.auth.loginMaxAttempts;
    this.lockoutSeconds = toSeconds(config.auth.lockoutWindowMs);

    const pgPool = redis.client ? null : unnamedStatements((dataSource.driver as any).master as Pool);
    const build = (keyPrefix: string, points: number, duration: number): RateLimiterStoreAbstract => {
      if (redis.client) {
        return new RateLimiterRedis({
          storeClient: redis.client,
          keyPrefix,
          points,
          duration,
          // A connection that is not ready goes straight to the insurance limiter.
          rejectIfRedisNotReady: true,
          insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration }),
        });
      }
      return new RateLimiterPostgres({
        storeClient: pgPool,
        storeType: 'pool',
        tableName: POSTGRES_TABLE,
        tableCreated: true, // by the migrations
        clearExpiredByTimeout: false, // one pruning timer of our own (below), cleared on shutdown
        keyPrefix,
        points,
        duration,
      });
    };

    // Resolves for failures 1..max (the max-th locks the email), rejects beyond.
    this.loginFailures = build(LOGIN_FAILURES_PREFIX, this.maxAttempts, this.lockoutSeconds);
    // Only ever written with block(): a key present means the email is locked.
    this.loginLock = build(LOGIN_LOCK_PREFIX, 1, this.lockoutSeconds);
    this.buckets = Object.fromEntries(
      (Object.keys(BUCKET_PREFIX) as RateLimitBucket[]).map((bucket) => {
        const rule = config.rateLimits[bucket];
        return [bucket, build(BUCKET_PREFIX[bucket], rule.points, toSeconds(rule.durationMs))];
      }),
    ) as Record<RateLimitBucket, RateLimiterStoreAbstract>;

    if (this.store === 'postgres') {
      // Redis expires keys by itself; rows of the Postgres store are deleted once expired for an hour.
      const pruner = this.loginFailures as unknown as { clearExpired(expire: number): Promise<void> };
      this.pruneTimer = setInterval(() => void pruner.clearExpired(Date.now() - 3_600_000), POSTGRES_PRUNE_INTERVAL_MS);
      this.pruneTimer.unref();
    }
  }

  onModuleDestroy(): void {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = null;
  }

  /** Throws 429 TOO_MANY_ATTEMPTS (with Retry-After) while the email is locked, known account or not. */
  async assertLoginAllowed(email: string): Promise<void> {
    const lock = await this.guard('login-check', () => this.loginLock.get(this.emailKey(email)));
    if (lock) throw this.tooMany(lock, this.lockoutSeconds);
  }

  /**
   * Counts a failed login (or a wrong second-factor code) for the email. The failure that
   * reaches LOGIN_MAX_ATTEMPTS locks the email for LOCKOUT_WINDOW and is the only one answered
   * `locked: true`; the attempt after it is refused by assertLoginAllowed.
   */
  async recordLoginFailure(email: string): Promise<LoginFailureResult> {
    const key = this.emailKey(email);
    let counted: RateLimiterRes;
    try {
      counted = await this.loginFailures.consume(key);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw this.unavailable('login-failure', err);
      // Past the maximum already: a failure that raced the lock (it passed assertLoginAllowed
      // before the lock was written). The lock normally exists; if its write was lost (the
      // locking call answered 503), it is written now, so the count cannot stay above the
      // maximum with the email unlocked. Not reported as `locked`: only the failure that
      // reached the maximum is, so concurrent failures never report one lockout twice.
      const lock = await this.guard('login-failure', () => this.loginLock.get(key));
      if (!lock) await this.guard('login-lock', () => this.loginLock.block(key, this.lockoutSeconds));
      return { locked: false, failures: err.consumedPoints };
    }
    if (counted.consumedPoints < this.maxAttempts) return { locked: false, failures: counted.consumedPoints };
    await this.guard('login-lock', () => this.loginLock.block(key, this.lockoutSeconds));
    return { locked: true, failures: counted.consumedPoints };
  }

  /** A successful login clears the failure count; an active lock stays (only unlock or time lifts it). */
  async recordLoginSuccess(email: string): Promise<void> {
    await this.guard('login-success', () => this.loginFailures.delete(this.emailKey(email)));
  }

  /** Lifts a lockout and clears the failure count (admin action). */
  async unlock(email: string): Promise<void> {
    const key = this.emailKey(email);
    await this.guard('unlock', () => Promise.all([this.loginLock.delete(key), this.loginFailures.delete(key)]));
  }

  /**
   * Counts one event of a per-IP or per-email limit; throws 429 TOO_MANY_ATTEMPTS with
   * Retry-After once the bucket's `points` are used up within its window. Buckets named
   * `*PerEmail` take an email (normalised), the others an address (`::ffff:` stripped).
   */
  async consume(bucket: RateLimitBucket, key: string): Promise<void> {
    const limiter = this.buckets[bucket];
    const hashed = this.digest(bucket.endsWith('PerEmail') ? normalizeEmail(key) : normalizeIp(key).toLowerCase());
    try {
      await limiter.consume(hashed);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw this.tooMany(err, limiter.duration);
      throw this.unavailable(bucket, err);
    }
  }

  /**
   * The key of an email or address in the store: an HMAC under a key derived from
   * APP_ENCRYPTION_KEY, so a copy of the store cannot be checked against guessed emails.
   */
  digest(value: string): string {
    return hmacSha256(this.keyMac, value).toString('hex');
  }

  private emailKey(email: string): string {
    return this.digest(normalizeEmail(email));
  }

  /** Runs a store call; a store error (not an over-the-limit answer) becomes 503. */
  private async guard<T>(action: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw this.unavailable(action, err);
    }
  }

  private tooMany(res: RateLimiterRes, fallbackSeconds: number): ApiError {
    return ApiError.tooManyAttempts(res.msBeforeNext > 0 ? res.msBeforeNext / 1000 : fallbackSeconds);
  }

  private unavailable(action: string, err: unknown): ApiError {
    const reason = err instanceof Error ? err.message : String(err);
    this.logger.warn({ action, store: this.store, err: reason }, 'Rate-limit store unavailable');
    return new ApiError(ErrorCode.SERVICE_UNAVAILABLE);
  }
}

/**
 * The TypeORM DataSource's pg Pool as rate-limiter-flexible's Postgres store uses it (a `pool`:
 * one `query()` per call, connections checked out and returned by pg), except that statements
 * go unnamed. The library names its prepared statements (`rate_limits:rlflx-upsert`), and a
 * named statement outlives its connection wherever several client connections share one
 * backend session: on the embedded PGlite (one session for every connection) a pool that
 * reconnects, after its idle timeout or an outage, would fail every later query with
 * "prepared statement already exists"; transaction-pooling proxies (PgBouncer) behave alike.
 * Unnamed statements cost one parse per query of a one-row statement.
 */
function unnamedStatements(pool: Pool): { query(q: { text: string; values?: unknown[] }): Promise<QueryResult> } {
  return { query: ({ text, values }) => pool.query(text, values) };
}


