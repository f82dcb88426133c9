import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { ApiError, ErrorCode } from '@app/common/errors';
import type { RequestContext } from '@app/common/http';
import { OneTimeToken, User } from '@app/database';
import { AuditService } from '../audit/audit.service';
import { OneTimeTokenService } from '../one-time-tokens/one-time-token.service';
import { RetailerPrincipal } from '../retailer/retailer-principal';
import { RevocationService } from '../sessions/revocation.service';
import { SessionService } from '../sessions/session.service';
import { IssuedToken, TokenService } from '../tokens/token.service';
import { RateLimitService } from '../rate-limit/rate-limit.service';

export interface PortalHandoff {
  code: string;
  expiresAt: string;
}

/**
 * The merchant portal's sign-in: a signed-in dashboard user gets a short-lived single-use code
 * (handoff), the portal trades it for a portal token (exchange). The portal token carries the
 * dashboard session's id as `sid`, so whatever revokes that session revokes the portal token.
 */
@Injectable()
export class PortalService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly oneTime: OneTimeTokenService,
    private readonly tokens: TokenService,
    private readonly sessions: SessionService,
    private readonly revocation: RevocationService,
    private readonly audit: AuditService,
    private readonly limits: RateLimitService,
  ) {}

  async handoff(principal: RetailerPrincipal, ctx: RequestContext): Promise<PortalHandoff> {
    // @CredentialRoute() already refuses impersonating admins; a code must never carry an
    // impersonation id as its session, so say it twice.
    if (principal.impersonation) throw new ApiError(ErrorCode.FORBIDDEN);
    const ttlMs = this.config.auth.portalCodeTtlMs;
    // Taken before the row is written, so the advertised expiry is never later than the stored one.
    const expiresAt = new Date(Date.now() + ttlMs);
    const code = await this.dataSource.transaction(async (manager) => {
      const raw = await this.oneTime.issue(
        'portal_code',
        { userId: principal.userId, retailerId: principal.retailerId, ttlMs, metadata: { sessionId: principal.sessionId } },
        manager,
      );
      await this.audit.record(
        {
          event: 'portal_handoff',
          actorType: 'user',
          actorId: principal.userId,
          retailerId: principal.retailerId,
          status: 'success',
          metadata: { sessionId: principal.sessionId },
        },
        ctx,
        manager,
      );
      return raw;
    });
    return { code, expiresAt: expiresAt.toISOString() };
  }

  /**
   * Burns the code first (a code is spent even when what follows refuses it), then requires the
   * user and retailer to be active (403 ACCOUNT_SUSPENDED) and the originating session to be live
   * (TOKEN_REVOKED), both read from Postgres: this is a sign-in, not a per-request check.
   */
  async exchange(code: string, ctx: RequestContext): Promise<IssuedToken> {
    // Codes are 256-bit random, so this bounds floods, not guessing; refused before any lookup.
    await this.limits.consume('portalExchangePerIp', ctx.ip);
    let token: OneTimeToken;
    try {
      token = await this.oneTime.consume('portal_code', code);
    } catch (err) {
      await this.audit.record({ event: 'portal_exchange', actorType: 'anonymous', status: 'failure', reason: err instanceof ApiError ? err.code : ErrorCode.TOKEN_INVALID }, ctx);
      throw err;
    }
    const sessionId = token.metadata?.sessionId;
    const { userId, retailerId } = token;
    if (!userId || !retailerId || typeof sessionId !== 'string') throw new ApiError(ErrorCode.TOKEN_INVALID);

    const refuse = async (reason: ErrorCode.ACCOUNT_SUSPENDED | ErrorCode.TOKEN_REVOKED): Promise<never> => {
      await this.audit.record({ event: 'portal_exchange', actorType: 'user', actorId: userId, retailerId, status: 'failure', reason, metadata: { sessionId } }, ctx);
      throw new ApiError(reason);
    };
    const user = await this.dataSource.getRepository(User).findOne({
      where: { id: userId },
      relations: { retailer: true },
      select: { id: true, retailerId: true, status: true, retailer: { id: true, status: true } },
    });
    // A member removed (or moved) since the handoff: their sessions are gone with them.
    if (!user || user.retailerId !== retailerId) return refuse(ErrorCode.TOKEN_REVOKED);
    if (user.status !== 'active' || user.retailer?.status !== 'active') return refuse(ErrorCode.ACCOUNT_SUSPENDED);
    if (this.revocation.isRevoked({ sid: sessionId }) || !(await this.sessions.findLive(sessionId, userId))) return refuse(ErrorCode.TOKEN_REVOKED);

    const issued = this.tokens.sign('portal', { sub: retailerId, uid: userId, sid: sessionId }, { ttlMs: this.config.auth.accessTokenTtlMs });
    await this.audit.record(
      { event: 'portal_exchange', actorType: 'user', actorId: userId, retailerId, status: 'success', metadata: { sessionId, jti: issued.jti } },
      ctx,
    );
    return issued;
  }
}
