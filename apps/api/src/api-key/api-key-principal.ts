import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { ApiKeyType } from '@app/database';

/** The caller of an ApiKeyAuthGuard route: the key, not a user. */
export interface ApiKeyPrincipal {
  kind: 'api-key';
  retailerId: string;
  keyId: string;
  type: ApiKeyType;
  scopes: string[];
}

/** The key that authenticated the request, placed on it by ApiKeyAuthGuard. */
export const CurrentApiKey = createParamDecorator((_data: unknown, ctx: ExecutionContext): ApiKeyPrincipal => ctx.switchToHttp().getRequest().user);
