import { createParamDecorator, ExecutionContext } from '@nestjs/common';

/** The caller of a RetailerAuthGuard route, as its token says. */
export interface RetailerPrincipal {
  kind: 'retailer';
  retailerId: string;
  userId: string;
  sessionId: string;
  role: string;
  permissions: string[];
  jti: string;
  /** seconds since epoch */
  exp: number;
  /** Present when an admin acts as this retailer (an admin token with `act.sub`). */
  impersonation?: ImpersonationContext;
}

export interface ImpersonationContext {
  /** The impersonation's id (the token's `sid`), what DELETE /admin/impersonations/:id takes. */
  id: string;
  adminId: string;
  adminEmail: string;
  fullAccess: boolean;
  reason: string;
}

/** Reads the authenticated principal placed on the request by the route's guard. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext) => ctx.switchToHttp().getRequest().user);
