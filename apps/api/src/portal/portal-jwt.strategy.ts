import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-jwt';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { ApiError, ErrorCode } from '@app/common/errors';
import { RoleChangesService } from '../roles/role-changes.service';
import { RevocationService } from '../sessions/revocation.service';
import { PORTAL_ACCESS_COOKIE } from '../tokens/cookie-names';
import { assertCsrf } from '../tokens/csrf';
import { assertCommonClaims, jwtStrategyOptions } from '../tokens/jwt-strategy';
import { TokenService } from '../tokens/token.service';
import { enableVerifiedTokenReuse } from '../tokens/verified-tokens';
import { PortalPrincipal } from './portal-principal';
import type { HttpRequest } from '@app/common/http';

/**
 * Portal tokens (`aud: portal`, the portal key only) from the `portal_access_token` cookie or
 * `Authorization: Bearer`. Per-request services come from `req.authContext`: passport's registry
 * is process-global, so this object may belong to another instance in the same process.
 */
@Injectable()
export class PortalJwtStrategy extends PassportStrategy(Strategy, 'portal-jwt') {
  constructor(
    tokens: TokenService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly revocation: RevocationService,
    private readonly roleChanges: RoleChangesService,
  ) {
    const options = jwtStrategyOptions(tokens.keys, config, { types: ['portal'], audience: 'portal', cookieName: () => PORTAL_ACCESS_COOKIE });
    super(options);
    enableVerifiedTokenReuse('portal-jwt', this, options.jwtFromRequest);
  }

  /**
   * Cheap: revocation and member removal are in-memory lookups, no database. The token's `sid`
   * is the originating retailer session, so a dashboard logout, remote termination, password
   * reset or suspension revokes the portal token too.
   */
  validate(req: HttpRequest, payload: Record<string, unknown>): PortalPrincipal {
    assertCommonClaims(payload, (req.authContext?.config ?? this.config).jwt.issuer);
    const { sub, uid, sid } = payload;
    if (typeof sub !== 'string' || typeof uid !== 'string' || typeof sid !== 'string') throw new ApiError(ErrorCode.TOKEN_INVALID);
    if ((req.authContext?.revocation ?? this.revocation).isRevoked(payload)) throw new ApiError(ErrorCode.TOKEN_REVOKED);
    if ((req.authContext?.roleChanges ?? this.roleChanges).lookup(uid)?.removed) throw new ApiError(ErrorCode.TOKEN_REVOKED);
    assertCsrf(req);
    return { kind: 'portal', retailerId: sub, userId: uid, sessionId: sid, jti: payload.jti as string, exp: payload.exp as number };
  }
}
