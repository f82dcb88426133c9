import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-jwt';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { ApiError, ErrorCode } from '@app/common/errors';
import { RoleChangesService } from '../roles/role-changes.service';
import { RevocationService } from '../sessions/revocation.service';
import { assertCsrf } from '../tokens/csrf';
import { assertCommonClaims, jwtStrategyOptions } from '../tokens/jwt-strategy';
import { TokenService } from '../tokens/token.service';
import { enableVerifiedTokenReuse } from '../tokens/verified-tokens';
import { impersonationPrincipal } from './impersonation-principal';
import { RetailerPrincipal } from './retailer-principal';
import type { HttpRequest } from '@app/common/http';

@Injectable()
export class RetailerJwtStrategy extends PassportStrategy(Strategy, 'retailer-jwt') {
  constructor(
    tokens: TokenService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly revocation: RevocationService,
    private readonly roleChanges: RoleChangesService,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {
    // Admin keys too: an admin token with `act.sub` passes as the impersonated retailer.
    const options = jwtStrategyOptions(tokens.keys, config, { types: ['retailer', 'admin'], audience: 'retailer', cookieName: (c) => c.http.retailerAccessCookieName });
    super(options);
    enableVerifiedTokenReuse('retailer-jwt', this, options.jwtFromRequest);
  }

  /**
   * Cheap: the revocation check and the recent role changes are in-memory lookups (see
   * RevocationService, RoleChangesService), no database.
   */
  validate(req: HttpRequest, payload: Record<string, unknown>): RetailerPrincipal | Promise<RetailerPrincipal> {
    const revocation = req.authContext?.revocation ?? this.revocation;
    assertCommonClaims(payload, (req.authContext?.config ?? this.config).jwt.issuer);
    if (req.tokenKeyType === 'admin') return this.impersonating(req, payload);
    const { sub, uid, sid, role, perms } = payload;
    if (typeof sub !== 'string' || typeof uid !== 'string' || typeof sid !== 'string' || typeof role !== 'string' || !Array.isArray(perms)) {
      throw new ApiError(ErrorCode.TOKEN_INVALID);
    }
    // An `act` claim inside a retailer token means nothing: only admin tokens impersonate.
    if (revocation.isRevoked(payload)) throw new ApiError(ErrorCode.TOKEN_REVOKED);
    // A role changed (or the member removed) after this token was signed: the current role wins.
    const override = (req.authContext?.roleChanges ?? this.roleChanges).lookup(uid);
    if (override?.removed) throw new ApiError(ErrorCode.TOKEN_REVOKED);
    assertCsrf(req);
    return {
      kind: 'retailer',
      retailerId: sub,
      userId: uid,
      sessionId: sid,
      role: override ? override.role : role,
      permissions: override ? [...override.permissions] : perms.filter((p): p is string => typeof p === 'string'),
      jti: payload.jti as string,
      exp: payload.exp as number,
    };
  }

  /** An admin token: only one that impersonates (`act.sub`) is a retailer principal. */
  private async impersonating(req: HttpRequest, payload: Record<string, unknown>): Promise<RetailerPrincipal> {
    if (!payload.act || typeof payload.act !== 'object') throw new ApiError(ErrorCode.TOKEN_INVALID);
    if ((req.authContext?.revocation ?? this.revocation).isRevoked({ jti: payload.jti })) throw new ApiError(ErrorCode.TOKEN_REVOKED);
    const principal = await impersonationPrincipal(req.authContext?.dataSource ?? this.dataSource, payload);
    assertCsrf(req);
    return principal;
  }
}
