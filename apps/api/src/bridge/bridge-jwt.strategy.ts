import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-jwt';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { ApiError, ErrorCode } from '@app/common/errors';
import { jwtStrategyOptions } from '../tokens/jwt-strategy';
import { TokenService } from '../tokens/token.service';
import { BridgeClaims } from './bridge-claims';
import type { HttpRequest } from '@app/common/http';

/** The contract's `exp - iat <= 300`: a bridge token lives five minutes at most. */
export const BRIDGE_MAX_LIFETIME_SECONDS = 300;
/** Clock skew allowed between a sibling and this service for `iat`. */
export const BRIDGE_MAX_IAT_SKEW_SECONDS = 30;

/** The bridge token is read from the JSON body's `token` field only: never a header, cookie or query. */
export function bridgeTokenFromBody(req: HttpRequest): string | null {
  const token = (req.body as { token?: unknown } | undefined)?.token;
  return typeof token === 'string' && token.length > 0 ? token : null;
}

/**
 * Bridge tokens minted by sibling services: HS256 with a bridge key only (by `kid`, or, when a
 * sibling omits it, the current or a previous bridge key whose signature matches), audience
 * `bridge`, issued by a service named in BRIDGE_ALLOWED_ISSUERS (not this service's own issuer).
 *
 * validate() stays cheap and storage-free: spending the jti and loading the user happen in
 * BridgeAuthGuard, which belongs to the request's own instance (passport's strategy registry is
 * process-wide, see AuthContext).
 */
@Injectable()
export class BridgeJwtStrategy extends PassportStrategy(Strategy, 'bridge-jwt') {
  constructor(
    tokens: TokenService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super(jwtStrategyOptions(tokens.keys, config, { types: ['bridge'], audience: 'bridge', fromRequest: bridgeTokenFromBody, kidOptional: true }));
  }

  validate(req: HttpRequest, payload: Record<string, unknown>): BridgeClaims {
    const config = req.authContext?.config ?? this.config;
    const { iss, sub, uid, jti, iat, exp } = payload;
    if (typeof iss !== 'string' || !config.jwt.bridgeAllowedIssuers.includes(iss)) throw new ApiError(ErrorCode.TOKEN_INVALID);
    if (typeof exp !== 'number' || typeof iat !== 'number' || !Number.isFinite(exp) || !Number.isFinite(iat)) throw new ApiError(ErrorCode.TOKEN_INVALID);
    if (typeof jti !== 'string' || !jti || typeof sub !== 'string' || !sub || typeof uid !== 'string' || !uid) throw new ApiError(ErrorCode.TOKEN_INVALID);
    // Short-lived by contract; a sibling cannot mint a long-lived session key by stretching exp.
    if (exp - iat > BRIDGE_MAX_LIFETIME_SECONDS) throw new ApiError(ErrorCode.TOKEN_INVALID);
    if (iat > Date.now() / 1000 + BRIDGE_MAX_IAT_SKEW_SECONDS) throw new ApiError(ErrorCode.TOKEN_INVALID);
    return { issuer: iss, jti, retailerId: sub, userId: uid, iat, exp };
  }
}
