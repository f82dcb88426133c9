/** The caller of a PortalAuthGuard route, as its portal token says. */
export interface PortalPrincipal {
  kind: 'portal';
  retailerId: string;
  userId: string;
  /** The retailer session the portal token was handed off from (its `sid`). */
  sessionId: string;
  jti: string;
  /** seconds since epoch */
  exp: number;
}
