import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { InjectDataSource } from '@nestjs/typeorm';
import { Strategy } from 'passport-jwt';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { ApiError, ErrorCode } from '@app/common/errors';
import { RevocationService } from '../sessions/revocation.service';
import { ADMIN_ACCESS_COOKIE } from '../tokens/cookie-names';
import { assertCsrf } from '../tokens/csrf';
import { assertCommonClaims, jwtStrategyOptions } from '../tokens/jwt-strategy';
import { TokenService } from '../tokens/token.service';
import { enableVerifiedTokenReuse } from '../tokens/verified-tokens';
import { AdminPrincipal } from './admin-principal';
import type { HttpRequest } from '@app/common/http';
import { isUuid } from '@app/common/crypto';

/**
 * Admin tokens (ADMIN_JWT_PRIVATE_KEY, aud "retailer") from the `admin_access_token` cookie or
 * Bearer; impersonation tokens (`act.sub`) pass too. Admin traffic is small, so every request
 * also checks that the admin still exists and is active (one primary-key lookup), and takes the
 * lower of the token's and the admin's current `fullAccess`.
 */
@Injectable()
export class AdminJwtStrategy extends PassportStrategy(Strategy, 'admin-jwt') {
  constructor(
    tokens: TokenService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly revocation: RevocationService,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {
    const options = jwtStrategyOptions(tokens.keys, config, { types: ['admin'], audience: 'retailer', cookieName: () => ADMIN_ACCESS_COOKIE });
    super(options);
    enableVerifiedTokenReuse('admin-jwt', this, options.jwtFromRequest);
  }

  async validate(req: HttpRequest, payload: Record<string, unknown>): Promise<AdminPrincipal> {
    assertCommonClaims(payload, (req.authContext?.config ?? this.config).jwt.issuer);
    const { sub, sid, fullAccess, act } = payload;
    if (typeof sub !== 'string' || typeof sid !== 'string' || typeof fullAccess !== 'boolean') throw new ApiError(ErrorCode.TOKEN_INVALID);
    if (act !== undefined && (typeof act !== 'object' || act === null || typeof (act as { sub?: unknown }).sub !== 'string')) throw new ApiError(ErrorCode.TOKEN_INVALID);
    if ((req.authContext?.revocation ?? this.revocation).isRevoked(payload)) throw new ApiError(ErrorCode.TOKEN_REVOKED);
    if (!isUuid(sub)) throw new ApiError(ErrorCode.TOKEN_REVOKED);
    const rows = (await (req.authContext?.dataSource ?? this.dataSource).query(`SELECT email, full_access, status FROM admins WHERE id = $1`, [sub])) as Array<{
      email: string;
      full_access: boolean;
      status: string;
    }>;
    const admin = rows[0];
    if (!admin || admin.status !== 'active') throw new ApiError(ErrorCode.TOKEN_REVOKED);
    assertCsrf(req);
    return {
      kind: 'admin',
      adminId: sub,
      email: admin.email,
      fullAccess: fullAccess && admin.full_access,
      sessionId: sid,
      jti: payload.jti as string,
      exp: payload.exp as number,
      impersonatingRetailerId: act ? (act as { sub: string }).sub : undefined,
    };
  }
}
