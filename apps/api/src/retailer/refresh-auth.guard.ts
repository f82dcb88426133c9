import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { ImpersonationGuard } from './impersonation.guard';
import { RetailerAuthGuard } from './retailer-auth.guard';
import { REFRESH_COOKIE } from './session-cookies';
import type { HttpRequest } from '@app/common/http';

/**
 * POST /auth/refresh takes a refresh token (body or cookie, checked by the service); only when
 * neither is present does it need a live access token as Bearer, checked by RetailerAuthGuard
 * (and, for an impersonation token, audited and refused by ImpersonationGuard: the route is a
 * credential route).
 */
@Injectable()
export class RefreshAuthGuard implements CanActivate {
  private readonly retailer = new RetailerAuthGuard();

  constructor(private readonly impersonation: ImpersonationGuard) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<HttpRequest>();
    const body = req.body as { refreshToken?: unknown } | undefined;
    if (body?.refreshToken !== undefined || (req.cookies as Record<string, string> | undefined)?.[REFRESH_COOKIE]) return true;
    return ((await this.retailer.canActivate(context)) as boolean) && this.impersonation.canActivate(context);
  }
}
