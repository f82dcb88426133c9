import type { ApiKeyType } from '@app/database';

export const API_KEY_TYPES = ['reporting', 'reactivate'] as const satisfies readonly ApiKeyType[];

/** Contract, Precise readings: "API key scopes". */
export const API_KEY_SCOPES = {
  reporting: ['reporting:read', 'audit_logs:read', 'team:read'],
  reactivate: ['reactivate:marketing'],
} as const satisfies Record<ApiKeyType, readonly string[]>;

export type ApiKeyScope = (typeof API_KEY_SCOPES)[ApiKeyType][number];

export function isScopeOf(type: ApiKeyType, scope: string): boolean {
  return (API_KEY_SCOPES[type] as readonly string[]).includes(scope);
}

/** Route metadata set by ApiKeyAuth(scope): the scope a key needs for the route, if any. */
export const API_KEY_SCOPE = 'api-key:scope';
