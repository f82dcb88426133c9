import { applyDecorators, CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiError } from '../errors/api-error';
import { ErrorCode } from '../errors/error-codes';

/** Route metadata naming who may call a route: `public`, or the auth scheme a module applied. */
export const AUTH_POLICY = 'auth:policy';

export type AuthPolicy = 'public' | string;

/** Marks a route (or controller) as reachable without credentials. */
export const Public = () => SetMetadata(AUTH_POLICY, 'public');

/**
 * Building block for each module's auth decorator (`RetailerAuth`, `AdminAuth`, ...): records the
 * policy so the deny-by-default guard lets the route through to the module's own guard.
 */
export const AuthPolicyOf = (policy: string, ...decorators: Array<ClassDecorator | MethodDecorator>) =>
  applyDecorators(SetMetadata(AUTH_POLICY, policy), ...decorators);

export function readAuthPolicy(reflector: Reflector, context: ExecutionContext): AuthPolicy | undefined {
  return reflector.getAllAndOverride<AuthPolicy | undefined>(AUTH_POLICY, [context.getHandler(), context.getClass()]);
}

/**
 * Global guard, runs before every module guard: a route that declares neither `@Public()` nor a
 * module's auth decorator is refused, so forgetting a decorator can never open a route.
 */
@Injectable()
export class DenyByDefaultGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    if (readAuthPolicy(this.reflector, context)) return true;
    throw new ApiError(ErrorCode.FORBIDDEN, 'This route has no access policy.');
  }
}
