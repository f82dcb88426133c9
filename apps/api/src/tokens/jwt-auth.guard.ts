import { ExecutionContext, Type } from '@nestjs/common';
import { AuthGuard, IAuthGuard } from '@nestjs/passport';
import { ApiError } from '@app/common/errors';
import { tokenFailure } from './jwt-strategy';
import { verifiedPathOf } from './verified-tokens';
import type { HttpRequest } from '@app/common/http';

/**
 * Base of every module's JWT guard: runs the named passport strategy and turns its failures
 * into contract errors (TOKEN_MISSING / TOKEN_INVALID / TOKEN_EXPIRED), while errors thrown by
 * a strategy's validate() (TOKEN_REVOKED, CSRF_FAILED, ...) pass through unchanged.
 *
 * A token this instance verified before (same text, not past `exp`) skips passport and the
 * signature check and goes straight to the strategy's validate() (see VerifiedTokenCache).
 */
export function JwtAuthGuardFor(strategy: string): Type<IAuthGuard> {
  class JwtAuthGuard extends AuthGuard(strategy) {
    override async canActivate(context: ExecutionContext): Promise<boolean> {
      const req = context.switchToHttp().getRequest<HttpRequest>();
      const path = verifiedPathOf(strategy);
      const cache = req.authContext?.verifiedTokens;
      const token = path && cache ? path.extract(req) : null;
      const hit = token ? cache!.get(strategy, token) : undefined;
      if (!hit) return (await super.canActivate(context)) as boolean;
      req.tokenKeyType = hit.keyType;
      try {
        req.user = (await path!.validate(req, hit.payload)) as HttpRequest['user'];
      } catch (err) {
        throw err instanceof ApiError ? err : tokenFailure(err);
      }
      return true;
    }

    override handleRequest<T>(err: unknown, user: T, info: unknown, context: ExecutionContext): T {
      if (err) throw err instanceof ApiError ? err : tokenFailure(err);
      if (!user) throw tokenFailure(info);
      const req = context.switchToHttp().getRequest<HttpRequest>();
      if (req.presentedToken && req.verifiedPayload && verifiedPathOf(strategy)) {
        req.authContext?.verifiedTokens.set(strategy, req.presentedToken, req.verifiedPayload, req.tokenKeyType);
      }
      return user;
    }
  }
  return JwtAuthGuard;
}
