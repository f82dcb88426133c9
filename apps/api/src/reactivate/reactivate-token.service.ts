import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { ApiError, ErrorCode } from '@app/common/errors';
import type { RequestContext } from '@app/common/http';
import { AuditService } from '../audit/audit.service';
import { RetailerPrincipal } from '../retailer/retailer-principal';
import { TokenService } from '../tokens/token.service';

/** Reactivate tokens for signed-in dashboard users, bound to their session by `sid`. */
@Injectable()
export class ReactivateTokenService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly tokens: TokenService,
    private readonly audit: AuditService,
  ) {}

  async issue(principal: RetailerPrincipal, ctx: RequestContext): Promise<{ token: string; expiresAt: string }> {
    // @CredentialRoute() already refuses impersonating admins; a token must never carry an
    // impersonation id as its session, so say it twice.
    if (principal.impersonation) throw new ApiError(ErrorCode.FORBIDDEN);
    const issued = this.tokens.sign(
      'reactivate',
      { sub: principal.retailerId, uid: principal.userId, sid: principal.sessionId },
      { ttlMs: this.config.auth.accessTokenTtlMs },
    );
    await this.audit.record(
      {
        event: 'reactivate_token_issued',
        actorType: 'user',
        actorId: principal.userId,
        retailerId: principal.retailerId,
        status: 'success',
        metadata: { sessionId: principal.sessionId, jti: issued.jti },
      },
      ctx,
    );
    return { token: issued.token, expiresAt: issued.expiresAt };
  }
}
