import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-jwt';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { ApiError, ErrorCode } from '@app/common/errors';
import { RoleChangesService } from '../roles/role-changes.service';
import { RevocationService } from '../sessions/revocation.service';
import { assertCsrf } from '../tokens/csrf';
import { assertCommonClaims, jwtStrategyOptions } from '../tokens/jwt-strategy';
import { TokenService } from '../tokens/token.service';
import { enableVerifiedTokenReuse } from '../tokens/verified-tokens';
import { ReactivatePrincipal } from './reactivate-principal';
import type { HttpRequest } from '@app/common/http';

/**
 * Reactivate tokens (`aud: reactivate`, the reactivate key only), from `Authorization: Bearer`
 * only: the token has no cookie. Per-request services come from `req.authContext`: passport's
 * registry is process-global, so this object may belong to another instance in the same process.
 */
@Injectable()
export class ReactivateJwtStrategy extends PassportStrategy(Strategy, 'reactivate-jwt') {
  constructor(
    tokens: TokenService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly revocation: RevocationService,
    private readonly roleChanges: RoleChangesService,
  ) {
    const options = jwtStrategyOptions(tokens.keys, config, { types: ['reactivate'], audience: 'reactivate' });
    super(options);
    enableVerifiedTokenReuse('reactivate-jwt', this, options.jwtFromRequest);
  }

  /**
   * Cheap: revocation and member removal are in-memory lookups, no database. The token's `sid`
   * is the retailer session it was issued from, so whatever revokes that session revokes it.
   */
  validate(req: HttpRequest, payload: Record<string, unknown>): ReactivatePrincipal {
    assertCommonClaims(payload, (req.authContext?.config ?? this.config).jwt.issuer);
    const { sub, uid, sid } = payload;
    if (typeof sub !== 'string' || typeof uid !== 'string' || typeof sid !== 'string') throw new ApiError(ErrorCode.TOKEN_INVALID);
    if ((req.authContext?.revocation ?? this.revocation).isRevoked(payload)) throw new ApiError(ErrorCode.TOKEN_REVOKED);
    if ((req.authContext?.roleChanges ?? this.roleChanges).lookup(uid)?.removed) throw new ApiError(ErrorCode.TOKEN_REVOKED);
    // Bearer only, so this never refuses today; it keeps the rule if a cookie is ever added.
    assertCsrf(req);
    return { kind: 'reactivate', retailerId: sub, userId: uid, sessionId: sid, jti: payload.jti as string, exp: payload.exp as number };
  }
}
