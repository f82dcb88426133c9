import { SetMetadata, UseGuards } from '@nestjs/common';
import { ApiSecurity } from '@nestjs/swagger';
import { AuthPolicyOf } from '@app/common/auth';
import { ApiKeyAuthGuard } from './api-key-auth.guard';
import { API_KEY_SCOPE, ApiKeyScope } from './api-key-scopes';

/**
 * A route for reporting API keys: the guard, the deny-by-default policy, the OpenAPI entry and
 * the scope the key must carry (none: any valid reporting key).
 */
export const ApiKeyAuth = (scope?: ApiKeyScope) =>
  AuthPolicyOf('api-key', SetMetadata(API_KEY_SCOPE, scope), UseGuards(ApiKeyAuthGuard), ApiSecurity('api-key'));
