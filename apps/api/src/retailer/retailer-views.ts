import type { Retailer, User } from '@app/database';

export function publicUser(user: User) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    retailerId: user.retailerId,
    status: user.status,
    mfa: { totp: Boolean(user.totpEnabledAt), emailOtp: Boolean(user.emailOtpEnabledAt) },
    lastLoginAt: user.lastLoginAt?.toISOString() ?? null,
    createdAt: user.createdAt.toISOString(),
  };
}

export function publicRetailer(retailer: Retailer) {
  return { id: retailer.id, name: retailer.name, status: retailer.status, createdAt: retailer.createdAt.toISOString() };
}
