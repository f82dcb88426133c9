/** The caller of an AdminAuthGuard route. */
export interface AdminPrincipal {
  kind: 'admin';
  adminId: string;
  email: string;
  /** The token's claim, and still the admin's right now (a later downgrade wins). */
  fullAccess: boolean;
  sessionId: string;
  jti: string;
  /** seconds since epoch */
  exp: number;
  /** Set when the token is an impersonation token (`act.sub`). */
  impersonatingRetailerId?: string;
}
