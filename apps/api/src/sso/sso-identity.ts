import { normalizeEmail } from '@app/common/crypto';
import { ErrorCode } from '@app/common/errors';
import { SsoRefusal } from './sso-refusal';

/** Who the provider says signed in, from a verified ID token. */
export interface SsoIdentity {
  /** The provider's subject (`sub`): stable per user and provider. */
  subject: string;
  /** Trimmed and lower-cased, and verified by the provider. */
  email: string;
  /** For a member created on first sign-in; the email's local part when the token has no name. */
  name: string;
  /** The ID token says the provider itself asked for a second factor (see `providerAssertsMfa`). */
  providerMfa: boolean;
}

const EMAIL_SHAPE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/**
 * The identity of a verified ID token's claims. The email must be one the provider itself
 * verified: one of `verifiedEmailClaims` must be exactly `true` (a string "true" does not count).
 * An email without that proof could have been typed by anyone into their own provider account
 * (Entra lets a tenant admin set any `email`), and matching members by it would hand out their
 * accounts. `preferred_username` and `upn` are never used as an email.
 */
export function identityFromClaims(claims: Record<string, unknown>, verifiedEmailClaims: string[], mfaAcrValues: string[]): SsoIdentity {
  const subject = typeof claims.sub === 'string' ? claims.sub.slice(0, 255) : '';
  const raw = typeof claims.email === 'string' ? normalizeEmail(claims.email) : '';
  if (!raw || raw.length > 320 || !EMAIL_SHAPE.test(raw)) {
    throw new SsoRefusal(ErrorCode.FORBIDDEN, 'email_missing', 'The provider did not share an email address; allow the email scope and try again.', { subject });
  }
  if (!verifiedEmailClaims.some((claim) => claims[claim] === true)) {
    throw new SsoRefusal(ErrorCode.FORBIDDEN, 'email_not_verified', `The provider has not verified ${raw}; verify it there, or sign in with your password.`, { subject, email: raw });
  }
  const name = typeof claims.name === 'string' && claims.name.trim() ? claims.name.trim().slice(0, 200) : raw.split('@')[0];
  return { subject, email: raw, name, providerMfa: providerAssertsMfa(claims, mfaAcrValues) };
}

/**
 * Whether the ID token proves a multi-factor sign-in at the provider: `amr` (RFC 8176) holds
 * `mfa`, or `acr` is one of the provider's multi-factor levels (SSO_<NAME>_MFA_ACR_VALUES).
 * A token that says neither proves nothing, whatever the provider's own policy may be. Okta sends
 * `amr` and `acr` levels such as `urn:okta:loa:2fa:any`; Google's ID tokens say neither, and nor
 * do Entra's v2.0 ones (Microsoft sends `amr` in v1.0 tokens only).
 */
export function providerAssertsMfa(claims: Record<string, unknown>, mfaAcrValues: string[]): boolean {
  if (Array.isArray(claims.amr) && claims.amr.includes('mfa')) return true;
  return typeof claims.acr === 'string' && mfaAcrValues.includes(claims.acr);
}

/** The domain part of a normalised email. */
export function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1);
}
