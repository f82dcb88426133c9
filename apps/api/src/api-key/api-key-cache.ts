import { Injectable, OnModuleInit } from '@nestjs/common';
import { Broadcast, RedisService } from '@app/common/redis';
import type { ApiKeyType } from '@app/database';
import type { IpRange } from './ip-allowlist';

/** What the guard needs to judge a key, as loaded from Postgres (never the secret, only its hash). */
export interface CachedApiKey {
  id: string;
  retailerId: string;
  type: ApiKeyType;
  keyHash: string;
  scopes: string[];
  allowedIps: IpRange[];
  expiresAtMs: number | null;
  revoked: boolean;
  /** Set on the old key of a rotation: refused from then on. */
  graceUntilMs: number | null;
  retailerActive: boolean;
  /** The retailer's own allowlist, when it has one switched on (applies to every key). */
  retailerAllowedIps: IpRange[] | null;
}

export interface ApiKeyInvalidation {
  prefixes?: string[];
  retailerIds?: string[];
}

/** How long a key seen once is judged without Postgres. Revocation does not wait for it (see below). */
export const API_KEY_CACHE_TTL_MS = 30_000;
const MAX_ENTRIES = 10_000;

/**
 * The short in-process cache that lets a guarded request skip Postgres when its key was seen in
 * the last 30 s. Same pattern as RevocationService: Postgres is the truth; a change that must
 * take effect at once (revocation, rotation, suspension) drops the entries here and is
 * published on Redis, where every other instance drops them within milliseconds. When the
 * subscription (re)connects the whole cache is dropped, since messages may have been missed
 * while it was down; the TTL bounds staleness in the worst case. Without Redis there is one
 * instance and local invalidation is the whole truth.
 *
 * `epoch` changes on every invalidation, so a load that read Postgres before a revocation
 * committed cannot put the stale row back after the invalidation arrived.
 */
@Injectable()
export class ApiKeyCache implements OnModuleInit {
  private readonly entries = new Map<string, { key: CachedApiKey; until: number }>();
  private readonly broadcast: Broadcast<ApiKeyInvalidation>;
  epoch = 0;

  constructor(
    redis: RedisService,
  ) {
    this.broadcast = redis.broadcast<ApiKeyInvalidation>('api-key-invalidations', { apply: (e) => this.apply(e), resync: () => this.clear() });
  }

  get(prefix: string): CachedApiKey | undefined {
    const hit = this.entries.get(prefix);
    if (!hit) return undefined;
    if (hit.until <= Date.now()) {
      this.entries.delete(prefix);
      return undefined;
    }
    return hit.key;
  }

  /** Stores a key loaded while the epoch was `epoch`, unless an invalidation happened meanwhile. */
  set(prefix: string, key: CachedApiKey, epoch: number): void {
    if (epoch !== this.epoch) return;
    if (this.entries.size >= MAX_ENTRIES) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(prefix, { key, until: Date.now() + API_KEY_CACHE_TTL_MS });
  }

  /** Drops the entries here and tells every other instance. The caller has already written Postgres. */
  async publish(event: ApiKeyInvalidation): Promise<void> {
    await this.broadcast.publish(event);
  }

  async onModuleInit(): Promise<void> {
    await this.broadcast.start();
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
  }

  private apply(event: ApiKeyInvalidation): void {
    this.epoch++;
    for (const prefix of event.prefixes ?? []) this.entries.delete(prefix);
    if (event.retailerIds?.length) {
      const retailers = new Set(event.retailerIds);
      for (const [prefix, { key }] of this.entries) if (retailers.has(key.retailerId)) this.entries.delete(prefix);
    }
  }
}

