import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { User } from '@app/database';
import type { HttpRequest } from '@app/common/http';

/** The verified claims of a bridge token (what BridgeJwtStrategy returns). */
export interface BridgeClaims {
  /** The sibling service that minted the token (`iss`, one of BRIDGE_ALLOWED_ISSUERS). */
  issuer: string;
  jti: string;
  /** `sub` */
  retailerId: string;
  /** `uid` */
  userId: string;
  /** seconds since epoch */
  iat: number;
  exp: number;
}

/** What BridgeAuthGuard places on the request: the claims, their jti now spent, and the user they name. */
export interface BridgePrincipal {
  kind: 'bridge';
  claims: BridgeClaims;
  user: User;
}

/** Reads the principal placed on the request by BridgeAuthGuard. */
export const CurrentBridge = createParamDecorator((_data: unknown, ctx: ExecutionContext): BridgePrincipal => {
  return ctx.switchToHttp().getRequest<HttpRequest>().user as BridgePrincipal;
});
