import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { RetailerAuthGuard } from './retailer-auth.guard';
import { REFRESH_COOKIE } from './session-cookies';

/**
 * POST /auth/refresh takes a refresh token (body or cookie, checked by the service); only when
 * neither is present does it need a live access token as Bearer, checked by RetailerAuthGuard.
 */
@Injectable()
export class RefreshAuthGuard implements CanActivate {
  private readonly retailer = new RetailerAuthGuard();

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const body = req.body as { refreshToken?: unknown } | undefined;
    if (body?.refreshToken !== undefined || (req.cookies as Record<string, string> | undefined)?.[REFRESH_COOKIE]) return true;
    return (await this.retailer.canActivate(context)) as boolean;
  }
}
