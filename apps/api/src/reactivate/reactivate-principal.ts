/** The caller of a ReactivateAuthGuard route, as its reactivate token says. */
export interface ReactivatePrincipal {
  kind: 'reactivate';
  retailerId: string;
  userId: string;
  /** The retailer session the token was issued from (its `sid`). */
  sessionId: string;
  jti: string;
  /** seconds since epoch */
  exp: number;
}
