import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { ApiError, ErrorCode } from '@app/common/errors';
import { clientIp, type HttpRequest } from '@app/common/http';
import { RetailerAllowlistCache } from './retailer-allowlist-cache';

/**
 * Runs after RetailerAuthGuard (see RetailerAuth): a caller whose address (as TRUST_PROXY defines
 * it, via clientIp) lies outside its retailer's switched-on allowlist gets 403 IP_NOT_ALLOWED, on
 * every RetailerAuth route, the allowlist settings included.
 *
 * A plain Nest guard, not part of the passport strategy: Nest builds guard instances per
 * application, so the cache it gets is its own instance's (see AuthContext for why that matters).
 * The check is a Map lookup once the retailer was seen in the last 30 s.
 */
@Injectable()
export class RetailerIpAllowlistGuard implements CanActivate {
  constructor(private readonly allowlists: RetailerAllowlistCache) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<HttpRequest>();
    const principal = req.user as { retailerId?: unknown } | undefined;
    // RetailerAuthGuard always sets a principal with its retailer; anything else is refused.
    if (typeof principal?.retailerId !== 'string') throw new ApiError(ErrorCode.FORBIDDEN);
    if (!(await this.allowlists.allows(principal.retailerId, clientIp(req)))) throw new ApiError(ErrorCode.IP_NOT_ALLOWED);
    return true;
  }
}
