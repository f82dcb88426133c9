import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiError, ErrorCode } from '@app/common/errors';
import { clientIp, type HttpRequest } from '@app/common/http';
import { bearerToken } from '../tokens/token-extraction';
import { API_KEY_SCOPE } from './api-key-scopes';
import { ApiKeyService } from './api-key.service';

/**
 * The key of a request: `Authorization: Bearer <key>` or `X-API-Key: <key>`, never the query
 * string (URLs end up in logs, history and Referer headers). Two different credentials in the
 * two headers are refused rather than guessing which one the caller meant.
 */
export function extractApiKey(req: HttpRequest): string | undefined {
  const bearer = bearerToken(req);
  const header = req.headers['x-api-key'];
  if (Array.isArray(header)) throw new ApiError(ErrorCode.TOKEN_INVALID);
  const apiKey = typeof header === 'string' && header.trim() ? header.trim() : undefined;
  if (bearer && apiKey && bearer !== apiKey) throw new ApiError(ErrorCode.TOKEN_INVALID);
  return bearer ?? apiKey;
}

/**
 * Reporting API keys. A plain guard rather than a passport strategy: Nest builds a guard per
 * application instance (in the controller's module), so the ApiKeyService it gets is its own
 * instance's, unlike passport's process-wide strategy registry (see AuthContext).
 *
 * Cheap on the hot path: a recently seen key is judged from the in-process cache, no Postgres.
 */
@Injectable()
export class ApiKeyAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<HttpRequest>();
    const scope = this.reflector.getAllAndOverride<string | undefined>(API_KEY_SCOPE, [context.getHandler(), context.getClass()]);
    req.user = await this.keys.authenticate(extractApiKey(req), { type: 'reporting', scope, ip: clientIp(req) });
    // A header credential: no cookie, so CSRF does not apply.
    req.authSource = 'bearer';
    return true;
  }
}
