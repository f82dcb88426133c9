import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiError, ErrorCode } from '@app/common/errors';
import type { RetailerPrincipal } from '../retailer/retailer-principal';

export const REQUIRED_PERMISSION = 'auth:required-permission';

/**
 * Refuses (403 FORBIDDEN) a principal without the route's `resource:action`. Must run after
 * RetailerAuthGuard (RequirePermission applies both in that order). The principal's permissions
 * are the token's, replaced by a recent role change when there is one (RetailerJwtStrategy).
 */
@Injectable()
export class PermissionGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const required = this.reflector.getAllAndOverride<string | undefined>(REQUIRED_PERMISSION, [context.getHandler(), context.getClass()]);
    if (!required) return true;
    const principal = context.switchToHttp().getRequest().user as RetailerPrincipal | undefined;
    if (!principal) throw new ApiError(ErrorCode.TOKEN_MISSING);
    if (!principal.permissions?.includes(required)) throw new ApiError(ErrorCode.FORBIDDEN, `This needs the ${required} permission.`);
    return true;
  }
}
