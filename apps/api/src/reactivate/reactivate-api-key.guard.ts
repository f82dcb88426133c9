import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { clientIp, type HttpRequest } from '@app/common/http';
import { extractApiKey } from '../api-key/api-key-auth.guard';
import { ApiKeyService } from '../api-key/api-key.service';

/**
 * Reactivate marketing routes: keys of type `reactivate` with the `reactivate:marketing` scope
 * only. A reporting key, a JWT or anything else is TOKEN_INVALID here (a guard accepts only its
 * own type). Same cached, Postgres-free hot path as ApiKeyAuthGuard.
 */
@Injectable()
export class ReactivateApiKeyGuard implements CanActivate {
  constructor(private readonly keys: ApiKeyService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<HttpRequest>();
    req.user = await this.keys.authenticate(extractApiKey(req), { type: 'reactivate', scope: 'reactivate:marketing', ip: clientIp(req) });
    req.authSource = 'bearer';
    return true;
  }
}
