import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Broadcast, RedisService } from '@app/common/redis';
import { ipAllowed, IpRange, parseAllowlist } from '../api-key/ip-allowlist';

/** How long a retailer's allowlist is judged from memory. A change does not wait for it (see below). */
export const RETAILER_ALLOWLIST_CACHE_TTL_MS = 30_000;
const MAX_ENTRIES = 10_000;

export interface RetailerAllowlistInvalidation {
  retailerIds: string[];
}

interface Entry {
  /** null: no allowlist switched on (or no such retailer), every address passes. */
  ranges: IpRange[] | null;
  until: number;
}

/**
 * Each retailer's IP allowlist as RetailerIpAllowlistGuard needs it, without a Postgres round trip
 * on the hot path. Same pattern as ApiKeyCache: Postgres (`retailers.ip_allowlist_enabled`,
 * `retailers.ip_allowlist`) is the truth; the first request of a retailer loads its row, which is
 * then judged from memory for 30 s; a change drops the entry here at once and is published on
 * Redis, where every other instance drops it within milliseconds. When the subscription
 * (re)connects the whole cache is dropped (messages may have been missed meanwhile); the TTL
 * bounds staleness in the worst case. Without Redis there is one instance and local invalidation
 * is the whole truth.
 *
 * `epoch` changes on every invalidation, so a load that read Postgres before a change committed
 * cannot put the old list back after the invalidation arrived.
 */
@Injectable()
export class RetailerAllowlistCache implements OnModuleInit {
  private readonly entries = new Map<string, Entry>();
  /** Loads in flight, so a burst of first requests of one retailer reads Postgres once. */
  private readonly loading = new Map<string, Promise<IpRange[] | null>>();
  private readonly broadcast: Broadcast<RetailerAllowlistInvalidation>;
  private epoch = 0;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    redis: RedisService,
  ) {
    this.broadcast = redis.broadcast<RetailerAllowlistInvalidation>('retailer-allowlist-invalidations', { apply: (e) => this.apply(e), resync: () => this.clear(), isValid: (e): e is RetailerAllowlistInvalidation => Array.isArray((e as RetailerAllowlistInvalidation | null)?.retailerIds) });
  }

  /** True when the retailer has no allowlist switched on, or `ip` lies inside it. */
  async allows(retailerId: string, ip: string): Promise<boolean> {
    const ranges = await this.rangesOf(retailerId);
    return ranges === null || ipAllowed(ip, ranges);
  }

  /** Drops the retailer's entry here and tells every other instance. The caller has already written Postgres. */
  async publish(event: RetailerAllowlistInvalidation): Promise<void> {
    await this.broadcast.publish(event);
  }

  async onModuleInit(): Promise<void> {
    await this.broadcast.start();
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
    this.loading.clear();
  }

  private async rangesOf(retailerId: string): Promise<IpRange[] | null> {
    const hit = this.entries.get(retailerId);
    if (hit && hit.until > Date.now()) return hit.ranges;
    if (hit) this.entries.delete(retailerId);
    const pending = this.loading.get(retailerId);
    if (pending) return pending;
    const epoch = this.epoch;
    const load = this.load(retailerId).then(
      (ranges) => {
        if (this.loading.get(retailerId) === load) this.loading.delete(retailerId);
        this.store(retailerId, ranges, epoch);
        return ranges;
      },
      (err: unknown) => {
        if (this.loading.get(retailerId) === load) this.loading.delete(retailerId);
        throw err;
      },
    );
    this.loading.set(retailerId, load);
    return load;
  }

  private async load(retailerId: string): Promise<IpRange[] | null> {
    const rows = (await this.dataSource.query(`SELECT ip_allowlist_enabled, ip_allowlist FROM retailers WHERE id = $1`, [retailerId])) as Array<{
      ip_allowlist_enabled: boolean;
      ip_allowlist: string[] | null;
    }>;
    const row = rows[0];
    return row?.ip_allowlist_enabled ? parseAllowlist(row.ip_allowlist ?? []) : null;
  }

  private store(retailerId: string, ranges: IpRange[] | null, epoch: number): void {
    if (epoch !== this.epoch) return;
    if (this.entries.size >= MAX_ENTRIES && !this.entries.has(retailerId)) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(retailerId, { ranges, until: Date.now() + RETAILER_ALLOWLIST_CACHE_TTL_MS });
  }

  private apply(event: RetailerAllowlistInvalidation): void {
    this.epoch++;
    for (const id of event.retailerIds) {
      this.entries.delete(id);
      this.loading.delete(id);
    }
  }
}
