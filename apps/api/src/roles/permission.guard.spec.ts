import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiError, ErrorCode } from '@app/common/errors';
import { PermissionGuard, REQUIRED_PERMISSION } from './permission.guard';

class Routes {
  guarded() {}
  open() {}
}
Reflect.defineMetadata(REQUIRED_PERMISSION, 'team:write', Routes.prototype.guarded);

function contextFor(handler: () => void, user: unknown): ExecutionContext {
  return {
    getHandler: () => handler,
    getClass: () => Routes,
    switchToHttp: () => ({ getRequest: () => ({ user }) }),
  } as unknown as ExecutionContext;
}

function codeOf(fn: () => unknown): ErrorCode | undefined {
  try {
    fn();
  } catch (err) {
    return (err as ApiError).code;
  }
  return undefined;
}

describe('PermissionGuard', () => {
  const guard = new PermissionGuard(new Reflector());

  it('lets a principal with the permission through', () => {
    expect(guard.canActivate(contextFor(Routes.prototype.guarded, { permissions: ['team:read', 'team:write'] }))).toBe(true);
  });

  it('refuses a principal without it with FORBIDDEN', () => {
    expect(codeOf(() => guard.canActivate(contextFor(Routes.prototype.guarded, { permissions: ['team:read'] })))).toBe(ErrorCode.FORBIDDEN);
  });

  it('refuses a request that reached it without a principal with TOKEN_MISSING', () => {
    expect(codeOf(() => guard.canActivate(contextFor(Routes.prototype.guarded, undefined)))).toBe(ErrorCode.TOKEN_MISSING);
  });

  it('leaves a route without a required permission alone', () => {
    expect(guard.canActivate(contextFor(Routes.prototype.open, undefined))).toBe(true);
  });
});
