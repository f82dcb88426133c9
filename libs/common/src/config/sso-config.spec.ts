import { loadAppConfig } from './app-config';
import { ConfigError } from './env-parsers';

const strong = (name: string) => `${name}-0123456789abcdef0123456789abcdef`;
const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://auth@db.internal:5432/auth',
  RETAILER_JWT_PRIVATE_KEY: strong('retailer'),
  ADMIN_JWT_PRIVATE_KEY: strong('admin'),
  PORTAL_JWT_PRIVATE_KEY: strong('portal'),
  BRIDGE_JWT_PRIVATE_KEY: strong('bridge'),
  REACTIVATE_JWT_PRIVATE_KEY: strong('reactivate'),
  APP_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
};

function refusal(env: Record<string, string | undefined>): string {
  try {
    loadAppConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('SSO configuration', () => {
  it('has the real providers by default, Okta only with an issuer, and no credentials', () => {
    const { sso, rateLimits } = loadAppConfig(PRODUCTION);
    expect(Object.keys(sso.providers).sort()).toEqual(['google', 'microsoft']);
    expect(sso.providers.google).toMatchObject({ issuer: 'https://accounts.google.com', clientId: undefined, verifiedEmailClaims: ['email_verified'] });
    expect(sso.providers.microsoft).toMatchObject({ issuer: 'https://login.microsoftonline.com/organizations/v2.0', verifiedEmailClaims: ['email_verified', 'xms_edov'] });
    expect(sso.allowedRedirects).toEqual([]);
    expect(rateLimits.ssoStartPerIp).toEqual({ points: 30, durationMs: 60_000 });
    expect(rateLimits.ssoVerifyPerIp).toEqual({ points: 10, durationMs: 60_000 });
  });

  it('reads the allowed redirects and the verified-email claims of a provider', () => {
    const { sso } = loadAppConfig({
      ...PRODUCTION,
      SSO_ALLOWED_REDIRECTS: 'https://app.example.com/sso, https://app.example.com/other?x=1',
      SSO_OKTA_ISSUER: 'https://acme.okta.com/oauth2/default',
      SSO_OKTA_VERIFIED_EMAIL_CLAIMS: 'email_verified custom_verified',
    });
    expect(sso.allowedRedirects).toEqual(['https://app.example.com/sso', 'https://app.example.com/other?x=1']);
    expect(sso.providers.okta.verifiedEmailClaims).toEqual(['email_verified', 'custom_verified']);
  });

  it("reads each provider's multi-factor acr values, with Okta's levels and PAPE's by default", () => {
    const pape = 'http://schemas.openid.net/pape/policies/2007/06/multi-factor';
    const { sso } = loadAppConfig({ ...PRODUCTION, SSO_OKTA_ISSUER: 'https://acme.okta.com/oauth2/default' });
    expect(sso.providers.okta.mfaAcrValues).toEqual(['urn:okta:loa:2fa:any', 'phr', 'phrh', pape]);
    expect(sso.providers.google.mfaAcrValues).toEqual([pape]);
    const custom = loadAppConfig({ ...PRODUCTION, SSO_MICROSOFT_MFA_ACR_VALUES: 'c1, c2' });
    expect(custom.sso.providers.microsoft.mfaAcrValues).toEqual(['c1', 'c2']);
    expect(custom.sso.domainVerification).toEqual({ dnsServers: [], timeoutMs: 5_000 });
  });

  it.each([
    ['not a URL', 'dashboard'],
    ['a relative URL', '/sso/done'],
    ['a fragment', 'https://app.example.com/sso#x'],
    ['another scheme', 'javascript:alert(1)'],
    ['plain http in production', 'http://app.example.com/sso'],
  ])('refuses a redirect that is %s, naming SSO_ALLOWED_REDIRECTS', (_label, value) => {
    expect(refusal({ ...PRODUCTION, SSO_ALLOWED_REDIRECTS: value })).toContain('SSO_ALLOWED_REDIRECTS');
  });
});
