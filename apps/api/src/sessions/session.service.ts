import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, IsNull } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { randomToken, safeEqual } from '@app/common/crypto';
import { ApiError, ErrorCode } from '@app/common/errors';
import type { RequestContext } from '@app/common/http';
import { PreparedStatement, RevokedToken, runPrepared, Session, SessionAuthMethod, User } from '@app/database';
import { permissionsOfRole } from '../roles/permissions';
import { RoleResolver } from '../roles/role-resolver';
import { IssuedToken, TokenService } from '../tokens/token.service';
import { RefreshTokens } from './refresh-token';
import { RevocationService } from './revocation.service';

export interface IssuedSession {
  session: Session;
  access: IssuedToken;
  refreshToken: string;
  refreshExpiresAt: string;
}

export type RefreshOutcome =
  | { kind: 'rotated' | 'grace'; issued: IssuedSession }
  /** A rotated token came back outside the grace window: the whole session is now revoked. */
  | { kind: 'reuse'; session: Session };

/** Who an access token is for; what `perms` and `role` are computed from. */
export interface SessionSubject {
  id: string;
  retailerId: string;
  role: string;
  /** The role's flattened permissions (RoleResolver); a predefined role's when absent. */
  permissions?: string[];
}

const LOCK_USER_AND_RETAILER: PreparedStatement = {
  name: 'session_start_lock',
  text: `SELECT status FROM retailers
  WHERE id = $2 AND (SELECT pg_advisory_xact_lock(hashtext($1))) IS NOT NULL FOR SHARE`,
};

/**
 * Keeps the newest `$13` live sessions of the user (the cap less the one being created) and
 * revokes the rest, inserts the new session and stamps the user's last login, in one statement
 * (one snapshot: the new row is not among those counted). Returns the evicted sessions' ids.
 */
const EVICT_INSERT_AND_STAMP: PreparedStatement = {
  name: 'session_start_insert',
  text: `WITH evicted AS (
    UPDATE sessions SET revoked_at = now(), revoke_reason = 'evicted'
    WHERE id IN (
      SELECT id FROM sessions WHERE user_id = $2 AND revoked_at IS NULL AND refresh_expires_at > $11
      ORDER BY created_at DESC, id DESC OFFSET $13
    )
    RETURNING id
  ), created AS (
    INSERT INTO sessions (id, user_id, retailer_id, nonce, generation, current_hash, access_jti, access_issued_at, auth_method, ip, device, created_at, last_seen_at, refresh_expires_at)
    VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8, $9, $10, $11, $11, $12)
  ), stamped AS (
    UPDATE users SET last_login_at = $11, updated_at = now() WHERE id = $2
  )
  SELECT id FROM evicted`,
};

/**
 * Sessions and their refresh-token chains. Rotation is a compare-and-swap on `generation` in
 * Postgres: of two refreshes racing (on any number of instances) exactly one moves the chain,
 * the other sees the new generation and is answered from the grace window or as a reuse.
 */
@Injectable()
export class SessionService {
  private readonly refreshTokens: RefreshTokens;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tokens: TokenService,
    private readonly revocation: RevocationService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly roles: RoleResolver,
  ) {
    this.refreshTokens = new RefreshTokens(config.encryptionKey);
  }

  /**
   * A new session for a user who just proved who they are: evicts the oldest beyond the cap and
   * stamps the user's `lastLoginAt`. Four round trips (BEGIN, the locks, one statement that
   * evicts, inserts and stamps, COMMIT): logins share the event loop with every guarded request.
   */
  async start(user: SessionSubject, method: SessionAuthMethod, ctx: Partial<RequestContext>): Promise<IssuedSession> {
    const subject = await this.withPermissions(user);
    const now = new Date();
    const nonce = randomToken(24);
    const id = randomUUID();
    const refreshToken = this.refreshTokens.derive(id, nonce, 0);
    const session = Object.assign(new Session(), {
      id,
      userId: user.id,
      retailerId: user.retailerId,
      nonce,
      generation: 0,
      currentHash: this.refreshTokens.hash(refreshToken),
      previousHash: null,
      rotatedAt: null,
      accessJti: randomUUID(),
      accessIssuedAt: Math.floor(now.getTime() / 1000),
      authMethod: method,
      ip: ctx.ip?.slice(0, 64) ?? null,
      device: ctx.device?.slice(0, 200) ?? null,
      createdAt: now,
      lastSeenAt: now,
      refreshExpiresAt: new Date(now.getTime() + this.config.auth.refreshTokenTtlMs),
      revokedAt: null,
      revokeReason: null,
    } satisfies Omit<Session, 'user'>);
    const evicted = await this.dataSource.transaction(async (manager) => {
      // The user's advisory lock first (an InitPlan, taken before the scan) serialises logins of
      // one user so the cap holds even for simultaneous logins; then the retailer row FOR SHARE:
      // a suspension racing this sign-in either waits for it (and then revokes the new session)
      // or commits first (and the sign-in is refused here), so no session outlives a suspension.
      const [retailer] = await runPrepared<{ status: string }>(manager, LOCK_USER_AND_RETAILER, [user.id, user.retailerId]);
      if (retailer?.status !== 'active') throw new ApiError(ErrorCode.ACCOUNT_SUSPENDED);
      const rows = await runPrepared<{ id: string }>(manager, EVICT_INSERT_AND_STAMP, [
        session.id,
        session.userId,
        session.retailerId,
        session.nonce,
        session.currentHash,
        session.accessJti,
        session.accessIssuedAt,
        session.authMethod,
        session.ip,
        session.device,
        now,
        session.refreshExpiresAt,
        this.config.auth.maxSessionsPerUser - 1,
      ]);
      return rows.map((r) => r.id);
    });
    if (evicted.length) await this.revocation.publish({ sessions: evicted });
    return { session, access: this.accessToken(session, subject), refreshToken, refreshExpiresAt: session.refreshExpiresAt.toISOString() };
  }

  /** POST /auth/refresh with a refresh token. */
  async refresh(raw: unknown): Promise<RefreshOutcome> {
    const parsed = this.refreshTokens.parse(raw);
    if (!parsed) throw new ApiError(ErrorCode.TOKEN_INVALID);
    let session = await this.dataSource.getRepository(Session).findOneBy({ id: parsed.sessionId });
    if (!session || !safeEqual(this.refreshTokens.derive(session.id, session.nonce, parsed.generation), raw as string)) {
      throw new ApiError(ErrorCode.TOKEN_INVALID);
    }
    if (session.revokedAt) throw new ApiError(ErrorCode.TOKEN_REVOKED);
    const subject = await this.subjectOf(session);

    if (parsed.generation === session.generation) {
      await this.assertUsable(session);
      const rotated = await this.rotate(session, subject);
      if (rotated) return { kind: 'rotated', issued: rotated };
      // Another request rotated this very token a moment ago: answer from the grace window.
      session = await this.dataSource.getRepository(Session).findOneByOrFail({ id: session.id });
      if (session.revokedAt) throw new ApiError(ErrorCode.TOKEN_REVOKED);
    }

    const inGrace =
      parsed.generation === session.generation - 1 &&
      session.rotatedAt !== null &&
      Date.now() - session.rotatedAt.getTime() <= this.config.auth.refreshReuseGraceMs;
    if (inGrace) return { kind: 'grace', issued: this.currentPair(session, subject) };

    await this.revoke([session.id], 'refresh_reuse');
    return { kind: 'reuse', session };
  }

  /** POST /auth/refresh with only a live access token: a new pair, and that access token revoked. */
  async extend(sessionId: string, oldAccess: { jti: string; exp: number }): Promise<IssuedSession> {
    const session = await this.dataSource.getRepository(Session).findOneBy({ id: sessionId });
    if (!session || session.revokedAt) throw new ApiError(ErrorCode.TOKEN_REVOKED);
    await this.assertUsable(session);
    const subject = await this.subjectOf(session);
    const rotated = await this.rotate(session, subject);
    if (!rotated) throw new ApiError(ErrorCode.TOKEN_REVOKED, 'The session changed while extending it; sign in again.');
    await this.revokeToken(oldAccess.jti, oldAccess.exp, 'session_extended');
    return rotated;
  }

  async findLive(sessionId: string, userId: string): Promise<Session | null> {
    return this.dataSource.getRepository(Session).findOneBy({ id: sessionId, userId, revokedAt: IsNull() });
  }

  async listLive(userId: string): Promise<Session[]> {
    const sessions = await this.dataSource.getRepository(Session).find({
      where: { userId, revokedAt: IsNull() },
      order: { lastSeenAt: 'DESC' },
    });
    const idleLimit = Date.now() - this.config.auth.sessionIdleTimeoutMs;
    return sessions.filter((s) => s.refreshExpiresAt.getTime() > Date.now() && s.lastSeenAt.getTime() > idleLimit);
  }

  /** Revokes sessions in Postgres, then on every instance. Returns the ids that were live. */
  async revoke(sessionIds: string[], reason: string, manager?: EntityManager): Promise<string[]> {
    if (!sessionIds.length) return [];
    const ids = await this.markRevoked(manager ?? this.dataSource.manager, sessionIds, reason);
    await this.revocation.publish({ sessions: sessionIds });
    return ids;
  }

  async revokeAllForUser(userId: string, reason: string, exceptSessionId?: string): Promise<string[]> {
    const live = await this.dataSource.getRepository(Session).find({ where: { userId, revokedAt: IsNull() }, select: { id: true } });
    return this.revoke(
      live.map((s) => s.id).filter((id) => id !== exceptSessionId),
      reason,
    );
  }

  async revokeToken(jti: string, exp: number, reason: string): Promise<void> {
    await this.dataSource
      .getRepository(RevokedToken)
      .createQueryBuilder()
      .insert()
      .values({ jti, expiresAt: new Date(exp * 1000), reason })
      .orIgnore()
      .execute();
    await this.revocation.publish({ tokens: [{ jti, exp }] });
  }

  private async markRevoked(manager: EntityManager, ids: string[], reason: string): Promise<string[]> {
    const rows: Array<{ id: string }> = await manager.query(
      `UPDATE sessions SET revoked_at = now(), revoke_reason = $2 WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL RETURNING id`,
      [ids, reason],
    );
    return (Array.isArray(rows[0]) ? (rows[0] as Array<{ id: string }>) : rows).map((r) => r.id);
  }

  /** Refuses an expired or idle session (and revokes the idle one so it stays dead). */
  private async assertUsable(session: Session): Promise<void> {
    const now = Date.now();
    if (session.refreshExpiresAt.getTime() <= now) throw new ApiError(ErrorCode.TOKEN_EXPIRED);
    if (session.lastSeenAt.getTime() + this.config.auth.sessionIdleTimeoutMs <= now) {
      await this.revoke([session.id], 'idle');
      throw new ApiError(ErrorCode.TOKEN_EXPIRED, 'The session expired after inactivity.');
    }
  }

  /** The compare-and-swap: moves the chain one generation on, or returns null if it already moved. */
  private async rotate(session: Session, subject: SessionSubject): Promise<IssuedSession | null> {
    const now = new Date();
    const generation = session.generation + 1;
    const refreshToken = this.refreshTokens.derive(session.id, session.nonce, generation);
    const accessJti = randomUUID();
    const accessIssuedAt = Math.floor(now.getTime() / 1000);
    const refreshExpiresAt = new Date(now.getTime() + this.config.auth.refreshTokenTtlMs);
    const result: [unknown[], number] = await this.dataSource.query(
      `UPDATE sessions
          SET generation = $3, previous_hash = current_hash, current_hash = $4, rotated_at = $5,
              access_jti = $6, access_issued_at = $7, last_seen_at = $5, refresh_expires_at = $8
        WHERE id = $1 AND generation = $2 AND revoked_at IS NULL
        RETURNING id`,
      [session.id, session.generation, generation, this.refreshTokens.hash(refreshToken), now, accessJti, accessIssuedAt, refreshExpiresAt],
    );
    const updated = Array.isArray(result[0]) ? result[0].length : (result as unknown[]).length;
    if (!updated) return null;
    const next = Object.assign(new Session(), session, {
      generation,
      previousHash: session.currentHash,
      currentHash: this.refreshTokens.hash(refreshToken),
      rotatedAt: now,
      accessJti,
      accessIssuedAt,
      lastSeenAt: now,
      refreshExpiresAt,
    });
    return { session: next, access: this.accessToken(next, subject), refreshToken, refreshExpiresAt: refreshExpiresAt.toISOString() };
  }

  /** The pair issued by the last rotation, re-created byte for byte. */
  private currentPair(session: Session, subject: SessionSubject): IssuedSession {
    return {
      session,
      access: this.accessToken(session, subject),
      refreshToken: this.refreshTokens.derive(session.id, session.nonce, session.generation),
      refreshExpiresAt: session.refreshExpiresAt.toISOString(),
    };
  }

  private accessToken(session: Session, subject: SessionSubject): IssuedToken {
    return this.tokens.sign(
      'retailer',
      { sub: subject.retailerId, uid: subject.id, sid: session.id, role: subject.role, perms: subject.permissions ?? permissionsOfRole(subject.role) },
      { ttlMs: this.config.auth.accessTokenTtlMs, iat: session.accessIssuedAt, jti: session.accessJti },
    );
  }

  private async subjectOf(session: Session): Promise<SessionSubject> {
    const user = await this.dataSource.getRepository(User).findOne({
      where: { id: session.userId },
      relations: { retailer: true },
      select: { id: true, retailerId: true, role: true, status: true, retailer: { id: true, status: true } },
    });
    if (!user || user.status !== 'active' || user.retailer?.status !== 'active') {
      await this.revoke([session.id], user ? 'suspended' : 'user_deleted');
      throw new ApiError(ErrorCode.TOKEN_REVOKED);
    }
    return this.withPermissions(user);
  }

  /** A custom role's permissions live in Postgres: resolve them once per token issued. */
  private async withPermissions(user: SessionSubject): Promise<SessionSubject> {
    const { permissions } = await this.roles.resolve(user.retailerId, user.role);
    return { id: user.id, retailerId: user.retailerId, role: user.role, permissions };
  }

  /** For callers that need several sessions by id (e.g. listing another user's). */
  async findByIds(ids: string[]): Promise<Session[]> {
    return ids.length ? this.dataSource.getRepository(Session).findBy({ id: In(ids) }) : [];
  }
}
