import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { APP_LOGGER, AppLogger } from '@app/common/logging';
import { Broadcast, RedisService } from '@app/common/redis';

export interface RevocationEvent {
  /** Session ids: every token carrying one of them as `sid` is revoked. */
  sessions?: string[];
  /** Single tokens by jti, with their exp (seconds), after which they need no entry. */
  tokens?: Array<{ jti: string; exp: number }>;
}

export interface RevocableClaims {
  sid?: unknown;
  jti?: unknown;
}

const RESYNC_INTERVAL_MS = 15_000;

/**
 * Answers "is this token revoked?" without a database round trip. Postgres is the source of
 * truth (sessions.revoked_at, revoked_tokens); each instance keeps the revocations that can
 * still matter (younger than the longest token lifetime) in memory. A revocation is applied
 * locally at once and published on Redis, where every other instance applies it within
 * milliseconds; an instance (re)loads the whole set from Postgres at start, whenever its Redis
 * subscription (re)connects (so a missed message cannot leave a revoked token alive), and every
 * 15 s as a safety net. Without Redis there is one instance, and local state is the whole truth.
 */
@Injectable()
export class RevocationService implements OnModuleInit, OnModuleDestroy {
  private readonly sessions = new Map<string, number>();
  private readonly tokens = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private readonly broadcast: Broadcast<RevocationEvent>;
  private readonly horizonMs: number;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    redis: RedisService,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(APP_LOGGER) private readonly logger: AppLogger,
  ) {
    this.broadcast = redis.broadcast<RevocationEvent>('revocations', { apply: (e) => this.apply(e), resync: () => void this.reload().catch(() => undefined) });
    // No token of any type lives longer than this: older revocations can be forgotten.
    this.horizonMs = Math.max(config.auth.accessTokenTtlMs, 3_600_000) + 60_000;
  }

  isRevoked(claims: RevocableClaims): boolean {
    return (
      (typeof claims.sid === 'string' && this.sessions.has(claims.sid)) ||
      (typeof claims.jti === 'string' && this.tokens.has(claims.jti))
    );
  }

  /** Applies a revocation here and tells every other instance. The caller has already written Postgres. */
  async publish(event: RevocationEvent): Promise<void> {
    await this.broadcast.publish(event);
  }

  async onModuleInit(): Promise<void> {
    await this.reload().catch((err) => this.logger.error({ err }, 'initial revocation load failed'));
    await this.broadcast.start();
    this.timer = setInterval(() => void this.reload().catch(() => undefined), RESYNC_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Rebuilds the in-memory set from Postgres (revocations younger than the horizon). */
  async reload(): Promise<void> {
    const since = new Date(Date.now() - this.horizonMs);
    const [sessions, tokens] = await Promise.all([
      this.dataSource.query(`SELECT id FROM sessions WHERE revoked_at IS NOT NULL AND revoked_at > $1`, [since]),
      this.dataSource.query(`SELECT jti, extract(epoch from expires_at)::bigint AS exp FROM revoked_tokens WHERE expires_at > now()`),
    ]);
    this.apply({
      sessions: (sessions as Array<{ id: string }>).map((r) => r.id),
      tokens: (tokens as Array<{ jti: string; exp: string }>).map((r) => ({ jti: r.jti, exp: Number(r.exp) })),
    });
    this.prune();
  }

  private apply(event: RevocationEvent): void {
    const forgetAt = Date.now() + this.horizonMs;
    for (const sid of event.sessions ?? []) if (!this.sessions.has(sid)) this.sessions.set(sid, forgetAt);
    for (const { jti, exp } of event.tokens ?? []) this.tokens.set(jti, exp * 1000 + 60_000);
  }

  private prune(): void {
    const now = Date.now();
    for (const [k, until] of this.sessions) if (until < now) this.sessions.delete(k);
    for (const [k, until] of this.tokens) if (until < now) this.tokens.delete(k);
  }
}
