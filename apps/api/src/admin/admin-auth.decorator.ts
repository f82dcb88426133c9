import { createParamDecorator, ExecutionContext, Injectable, UseGuards } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { AuthPolicyOf } from '@app/common/auth';
import { ApiError, ErrorCode } from '@app/common/errors';
import { JwtAuthGuardFor } from '../tokens/jwt-auth.guard';
import { AdminPrincipal } from './admin-principal';

/** Admin tokens from the `admin_access_token` cookie or `Authorization: Bearer`. */
@Injectable()
export class AdminAuthGuard extends JwtAuthGuardFor('admin-jwt') {}

/** An admin-console route: the guard, the deny-by-default policy and the OpenAPI entry. */
export const AdminAuth = () => AuthPolicyOf('admin', UseGuards(AdminAuthGuard), ApiBearerAuth('admin'));

/** The admin behind the request. */
export const CurrentAdmin = createParamDecorator((_data: unknown, ctx: ExecutionContext): AdminPrincipal => ctx.switchToHttp().getRequest().user);

/** Actions (suspend, unlock, full impersonation) need an admin with full access, acting as itself. */
export function assertFullAccess(admin: AdminPrincipal): void {
  if (!admin.fullAccess) throw new ApiError(ErrorCode.FORBIDDEN, 'This action needs an admin with full access.');
  if (admin.impersonatingRetailerId) throw new ApiError(ErrorCode.FORBIDDEN, 'An impersonation token cannot take admin actions.');
}
