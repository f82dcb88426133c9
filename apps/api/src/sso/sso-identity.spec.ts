import { ErrorCode } from '@app/common/errors';
import { emailDomain, identityFromClaims as fromClaims, providerAssertsMfa } from './sso-identity';
import { SsoRefusal } from './sso-refusal';

const refusal = (fn: () => unknown): { code?: string; detail?: string } => {
  try {
    fn();
    return {};
  } catch (err) {
    return err instanceof SsoRefusal ? { code: err.code, detail: err.detail } : { code: 'not an SsoRefusal' };
  }
};

const identityFromClaims = (claims: Record<string, unknown>, verifiedEmailClaims: string[]) => fromClaims(claims, verifiedEmailClaims, []);

describe('identityFromClaims', () => {
  it('takes a verified email trimmed and lower-cased, the subject and the name', () => {
    expect(identityFromClaims({ sub: 's1', email: '  Ana@Shop.Example ', email_verified: true, name: ' Ana Lima ' }, ['email_verified'])).toEqual({
      subject: 's1',
      email: 'ana@shop.example',
      name: 'Ana Lima',
      providerMfa: false,
    });
  });

  it("falls back to the email's local part for the name", () => {
    expect(identityFromClaims({ sub: 's1', email: 'ana@shop.example', email_verified: true }, ['email_verified']).name).toBe('ana');
  });

  it('counts only a configured claim that is exactly true', () => {
    const claims = { sub: 's1', email: 'ana@shop.example' };
    expect(refusal(() => identityFromClaims({ ...claims, email_verified: 'true' }, ['email_verified']))).toEqual({ code: ErrorCode.FORBIDDEN, detail: 'email_not_verified' });
    expect(refusal(() => identityFromClaims({ ...claims, email_verified: 1 }, ['email_verified']))).toEqual({ code: ErrorCode.FORBIDDEN, detail: 'email_not_verified' });
    expect(refusal(() => identityFromClaims({ ...claims, xms_edov: true }, ['email_verified']))).toEqual({ code: ErrorCode.FORBIDDEN, detail: 'email_not_verified' });
    expect(identityFromClaims({ ...claims, xms_edov: true }, ['email_verified', 'xms_edov']).email).toBe('ana@shop.example');
  });

  it('never takes preferred_username or upn for an email', () => {
    expect(refusal(() => identityFromClaims({ sub: 's1', preferred_username: 'ana@shop.example', upn: 'ana@shop.example', email_verified: true }, ['email_verified']))).toEqual({
      code: ErrorCode.FORBIDDEN,
      detail: 'email_missing',
    });
  });

  it('refuses something that is not an email', () => {
    for (const email of ['', 'ana', 'ana@', 'a b@shop.example', 42]) {
      expect(refusal(() => identityFromClaims({ sub: 's1', email, email_verified: true }, ['email_verified']))).toEqual({ code: ErrorCode.FORBIDDEN, detail: 'email_missing' });
    }
  });
});

describe('providerAssertsMfa', () => {
  const OKTA_MFA = ['urn:okta:loa:2fa:any'];

  it('is true when amr holds mfa (RFC 8176: Okta, Auth0, Keycloak)', () => {
    expect(providerAssertsMfa({ amr: ['pwd', 'mfa'] }, [])).toBe(true);
    expect(fromClaims({ sub: 's1', email: 'ana@shop.example', email_verified: true, amr: ['pwd', 'mfa'] }, ['email_verified'], []).providerMfa).toBe(true);
  });

  it("is true when acr is one of the provider's multi-factor levels", () => {
    expect(providerAssertsMfa({ acr: 'urn:okta:loa:2fa:any' }, OKTA_MFA)).toBe(true);
    expect(providerAssertsMfa({ acr: 'urn:okta:loa:1fa:any' }, OKTA_MFA)).toBe(false);
    expect(providerAssertsMfa({ acr: 'urn:okta:loa:2fa:any' }, [])).toBe(false);
  });

  it('is false for a single factor, for look-alikes, and when the token says nothing (Google)', () => {
    for (const claims of [{}, { amr: ['pwd'] }, { amr: ['otp'] }, { amr: 'mfa' }, { amr: ['MFA'] }, { acr: ['urn:okta:loa:2fa:any'] }, { acr: '1' }]) {
      expect(providerAssertsMfa(claims, OKTA_MFA)).toBe(false);
    }
  });
});

describe('emailDomain', () => {
  it('is the part after the last @', () => {
    expect(emailDomain('ana@eu.shop.example')).toBe('eu.shop.example');
  });
});
