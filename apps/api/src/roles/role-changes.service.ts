import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { APP_LOGGER, AppLogger } from '@app/common/logging';
import { Broadcast, RedisService } from '@app/common/redis';
import { flattenPermissions, isPredefinedRole, PermissionMap, permissionsOfRole } from './permissions';

/** The current role of a member whose role changed recently, or the fact that they were removed. */
export type RoleOverride = { removed: false; role: string; permissions: string[] } | { removed: true };

export interface RoleChangeEvent {
  changed?: Array<{ userId: string; role: string; permissions: string[] }>;
  removed?: string[];
}

const RESYNC_INTERVAL_MS = 15_000;

/**
 * Makes a role change (or a removal) apply to the member's next request instead of at their
 * token's `exp`, without a database read per request. It follows RevocationService: Postgres is
 * the source of truth (`users.role_changed_at`, and the append-only `member_removed` audit rows
 * for members whose user row is gone), each instance keeps the changes younger than the longest
 * access-token lifetime in a Map, applies its own at once, publishes them on Redis, and reloads
 * from Postgres at start, on every Redis (re)subscription and every 15 s.
 *
 * An entry is the member's *current* role, so RetailerJwtStrategy may replace any token's claims
 * with it, whether the token was issued before or after the change.
 */
@Injectable()
export class RoleChangesService implements OnModuleInit, OnModuleDestroy {
  private readonly overrides = new Map<string, { value: RoleOverride; forgetAt: number }>();
  private timer: NodeJS.Timeout | null = null;
  private readonly broadcast: Broadcast<RoleChangeEvent>;
  private readonly horizonMs: number;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    redis: RedisService,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(APP_LOGGER) private readonly logger: AppLogger,
  ) {
    this.broadcast = redis.broadcast<RoleChangeEvent>('role-changes', { apply: (e) => this.apply(e), resync: () => void this.reload().catch(() => undefined) });
    // No access token lives longer than this: older changes are already in every live token.
    this.horizonMs = Math.max(config.auth.accessTokenTtlMs, 3_600_000) + 60_000;
  }

  lookup(userId: unknown): RoleOverride | undefined {
    return typeof userId === 'string' ? this.overrides.get(userId)?.value : undefined;
  }

  /** Applies a change here and tells every other instance. The caller has already written Postgres. */
  async publish(event: RoleChangeEvent): Promise<void> {
    await this.broadcast.publish(event);
  }

  async onModuleInit(): Promise<void> {
    await this.reload().catch((err) => this.logger.error({ err }, 'initial role-change load failed'));
    await this.broadcast.start();
    this.timer = setInterval(() => void this.reload().catch(() => undefined), RESYNC_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Rebuilds the recent changes from Postgres. */
  async reload(): Promise<void> {
    const since = new Date(Date.now() - this.horizonMs);
    const [changed, removed] = await Promise.all([
      this.dataSource.query(
        `SELECT u.id, u.role, r.permissions
           FROM users u LEFT JOIN roles r ON r.retailer_id = u.retailer_id AND r.name = u.role
          WHERE u.role_changed_at > $1`,
        [since],
      ),
      this.dataSource.query(`SELECT metadata->>'memberId' AS id FROM audit_logs WHERE event = 'member_removed' AND status = 'success' AND created_at > $1`, [since]),
    ]);
    this.apply({
      changed: (changed as Array<{ id: string; role: string; permissions: PermissionMap | null }>).map((r) => ({
        userId: r.id,
        role: r.role,
        permissions: isPredefinedRole(r.role) ? permissionsOfRole(r.role) : flattenPermissions(r.permissions ?? {}),
      })),
      removed: (removed as Array<{ id: string | null }>).map((r) => r.id).filter((id): id is string => Boolean(id)),
    });
    this.prune();
  }

  private apply(event: RoleChangeEvent): void {
    const forgetAt = Date.now() + this.horizonMs;
    for (const c of event.changed ?? []) {
      // A removal is final: a late or reloaded change never resurrects a removed member.
      if (this.overrides.get(c.userId)?.value.removed) continue;
      this.overrides.set(c.userId, { value: { removed: false, role: c.role, permissions: c.permissions }, forgetAt });
    }
    for (const id of event.removed ?? []) this.overrides.set(id, { value: { removed: true }, forgetAt });
  }

  private prune(): void {
    const now = Date.now();
    for (const [k, { forgetAt }] of this.overrides) if (forgetAt < now) this.overrides.delete(k);
  }
}
