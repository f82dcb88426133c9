/** Resources and actions of the contract's permission model. */
export const RESOURCES = ['analytics', 'dashboards', 'reports', 'settings', 'team', 'billing', 'api_keys', 'audit_logs'] as const;
export const ACTIONS = ['read', 'write', 'export'] as const;

export type Resource = (typeof RESOURCES)[number];
export type Action = (typeof ACTIONS)[number];
export type PermissionMap = Partial<Record<Resource, Action[]>>;

export const PREDEFINED_ROLES = ['owner', 'admin', 'analyst', 'viewer'] as const;
export type PredefinedRole = (typeof PREDEFINED_ROLES)[number];

const all = (...resources: Resource[]): PermissionMap => Object.fromEntries(resources.map((r) => [r, [...ACTIONS]]));

/**
 * owner: everything, billing and team; admin: everything but billing; analyst: read analytics
 * and create reports; viewer: read-only dashboards.
 */
export const PREDEFINED_PERMISSIONS: Record<PredefinedRole, PermissionMap> = {
  owner: all(...RESOURCES),
  admin: all('analytics', 'dashboards', 'reports', 'settings', 'team', 'api_keys', 'audit_logs'),
  analyst: { analytics: ['read', 'export'], dashboards: ['read'], reports: ['read', 'write', 'export'] },
  viewer: { dashboards: ['read'] },
};

export function isPredefinedRole(name: string): name is PredefinedRole {
  return (PREDEFINED_ROLES as readonly string[]).includes(name);
}

/** `{analytics: ['read']}` → `['analytics:read']`, sorted, as carried in the `perms` claim. */
export function flattenPermissions(map: PermissionMap): string[] {
  const out: string[] = [];
  for (const resource of RESOURCES) for (const action of ACTIONS) if (map[resource]?.includes(action)) out.push(`${resource}:${action}`);
  return out;
}

export function permissionsOfRole(role: string): string[] {
  return isPredefinedRole(role) ? flattenPermissions(PREDEFINED_PERMISSIONS[role]) : [];
}
