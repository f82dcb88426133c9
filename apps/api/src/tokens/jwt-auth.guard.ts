import { ExecutionContext, Type } from '@nestjs/common';
import { AuthGuard, IAuthGuard } from '@nestjs/passport';
import { ApiError } from '@app/common/errors';
import { tokenFailure } from './jwt-strategy';

/**
 * Base of every module's JWT guard: runs the named passport strategy and turns its failures
 * into contract errors (TOKEN_MISSING / TOKEN_INVALID / TOKEN_EXPIRED), while errors thrown by
 * a strategy's validate() (TOKEN_REVOKED, CSRF_FAILED, ...) pass through unchanged.
 */
export function JwtAuthGuardFor(strategy: string): Type<IAuthGuard> {
  class JwtAuthGuard extends AuthGuard(strategy) {
    override handleRequest<T>(err: unknown, user: T, info: unknown, _context: ExecutionContext): T {
      if (err) throw err instanceof ApiError ? err : tokenFailure(err);
      if (!user) throw tokenFailure(info);
      return user;
    }
  }
  return JwtAuthGuard;
}
