import type { DataSource } from 'typeorm';
import { isUuid } from '@app/common/crypto';
import { ApiError, ErrorCode } from '@app/common/errors';
import { permissionsOfRole } from '../roles/permissions';
import { RetailerPrincipal } from './retailer-principal';

interface ImpersonationRow {
  id: string;
  reason: string;
  full_access: boolean;
  acting_user_id: string;
  expires_at: Date;
  revoked_at: Date | null;
  admin_email: string;
  admin_status: string;
  admin_full_access: boolean;
  retailer_status: string;
  user_role: string | null;
}

/**
 * The retailer principal of an admin token with `act.sub` at RetailerAuthGuard. The token alone
 * is not enough: its impersonation (the `sid`) must exist for that admin, retailer and `jti`, be
 * neither ended nor past its end, and the admin and the retailer must still be active; anything
 * else is TOKEN_REVOKED. One indexed query per impersonated request (which writes an audit row
 * anyway); retailer users' own requests never come here.
 *
 * The admin sees the retailer as its first owner does; without full access only the read
 * permissions remain (and ImpersonationGuard refuses every unsafe method).
 */
export async function impersonationPrincipal(dataSource: DataSource, payload: Record<string, unknown>): Promise<RetailerPrincipal> {
  const { sub, sid, act, fullAccess, jti, exp } = payload;
  const retailerId = (act as { sub?: unknown } | null | undefined)?.sub;
  if (typeof sub !== 'string' || typeof sid !== 'string' || typeof fullAccess !== 'boolean' || typeof retailerId !== 'string') {
    throw new ApiError(ErrorCode.TOKEN_INVALID);
  }
  if (![sub, sid, retailerId, jti].every(isUuid)) throw new ApiError(ErrorCode.TOKEN_REVOKED);
  const rows = (await dataSource.query(
    `SELECT i.id, i.reason, i.full_access, i.acting_user_id, i.expires_at, i.revoked_at,
            a.email AS admin_email, a.status AS admin_status, a.full_access AS admin_full_access, r.status AS retailer_status, u.role AS user_role
       FROM impersonations i
       JOIN admins a ON a.id = i.admin_id
       JOIN retailers r ON r.id = i.retailer_id
       LEFT JOIN users u ON u.id = i.acting_user_id AND u.retailer_id = i.retailer_id
      WHERE i.id = $1 AND i.admin_id = $2 AND i.retailer_id = $3 AND i.jti = $4`,
    [sid, sub, retailerId, jti],
  )) as ImpersonationRow[];
  const row = rows[0];
  if (
    !row ||
    row.revoked_at ||
    new Date(row.expires_at).getTime() <= Date.now() ||
    row.admin_status !== 'active' ||
    row.retailer_status !== 'active' ||
    !row.user_role
  ) {
    throw new ApiError(ErrorCode.TOKEN_REVOKED);
  }
  // Full access needs the impersonation's, the token's and the admin's own right now: taking it
  // away from an admin turns its live impersonations read-only at once.
  const full = row.full_access && fullAccess && row.admin_full_access;
  const permissions = permissionsOfRole('owner').filter((p) => full || p.endsWith(':read'));
  return {
    kind: 'retailer',
    retailerId,
    userId: row.acting_user_id,
    sessionId: sid,
    role: row.user_role,
    permissions,
    jti: jti as string,
    exp: exp as number,
    impersonation: { id: row.id, adminId: sub, adminEmail: row.admin_email, fullAccess: full, reason: row.reason },
  };
}
