import { randomBytes } from 'node:crypto';
import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config';
import { HashPool } from './hash-pool';

/** A bcrypt hash: `$2a$`, `$2b$` or `$2y$`, two-digit cost, 22 characters of salt, 31 of digest. */
const BCRYPT_HASH = /^\$2([aby])\$(\d\d)\$[./A-Za-z0-9]{53}$/;
/** Prefixes this service writes or keeps; anything else is rehashed at the next login. */
const CURRENT_PREFIXES = new Set(['a', 'b']);

/**
 * Password hashing with the native `bcrypt` package, on a pool of low-priority threads
 * (HashPool): hashing never blocks the event loop, and a login flood cannot take the CPU from
 * requests that do not hash. Hashes are `$2b$` at BCRYPT_COST and are interchangeable with
 * bcryptjs (`$2a$` / `$2b$`) in both directions.
 */
@Injectable()
export class PasswordHasher implements OnModuleInit, OnModuleDestroy {
  private dummy?: Promise<string>;
  private readonly pool: HashPool;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.pool = new HashPool(config.auth.passwordHashThreads, config.auth.passwordHashNice, config.auth.passwordHashIdlePolicy);
  }

  async onModuleInit(): Promise<void> {
    await this.dummyHash();
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool.close();
  }

  /** The bcrypt cost new hashes use (BCRYPT_COST). */
  get cost(): number {
    return this.config.auth.bcryptCost;
  }

  hash(pw: string): Promise<string> {
    if (typeof pw !== 'string') return Promise.reject(new TypeError('password must be a string'));
    return this.pool.hash(pw, this.cost);
  }

  /**
   * True when the password matches the hash. A malformed hash (or a non-string password) is
   * false, never an exception, and still costs one bcrypt run so it cannot be told apart by time.
   */
  async verify(pw: string, hash: string): Promise<boolean> {
    const match = typeof hash === 'string' ? BCRYPT_HASH.exec(hash) : null;
    if (!match || typeof pw !== 'string') return this.verifyAgainstDummy(typeof pw === 'string' ? pw : '');
    // The native binding refuses the `$2y$` prefix (PHP's name for the same algorithm as `$2b$`).
    const normalised = match[1] === 'y' ? `$2b$${hash.slice(4)}` : hash;
    try {
      return await this.pool.compare(pw, normalised);
    } catch {
      return false;
    }
  }

  /**
   * For an unknown account: always run bcrypt so response time is constant. Compares against a
   * fixed dummy hash of the configured cost (of a random secret nobody knows) and resolves false.
   */
  async verifyAgainstDummy(pw: string): Promise<false> {
    try {
      await this.pool.compare(typeof pw === 'string' ? pw : '', await this.dummyHash());
    } catch {
      // the answer is false whatever happens
    }
    return false;
  }

  /** True when the hash should be replaced at the next successful login: other cost or prefix. */
  needsRehash(hash: string): boolean {
    const match = typeof hash === 'string' ? BCRYPT_HASH.exec(hash) : null;
    if (!match) return true;
    return !CURRENT_PREFIXES.has(match[1]) || Number(match[2]) !== this.cost;
  }

  /** The cost of a well-formed bcrypt hash, otherwise undefined. */
  costOf(hash: string): number | undefined {
    const match = typeof hash === 'string' ? BCRYPT_HASH.exec(hash) : null;
    return match ? Number(match[2]) : undefined;
  }

  /** Computed once (in onModuleInit, or on first use when built outside Nest). */
  private dummyHash(): Promise<string> {
    this.dummy ??= this.pool.hash(randomBytes(24).toString('base64url'), this.cost);
    return this.dummy;
  }
}
