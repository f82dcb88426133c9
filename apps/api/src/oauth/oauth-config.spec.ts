import { ConfigError, loadAppConfig } from '@app/common/config';

/** The `oauth` section of loadAppConfig (kept beside the module that reads it). */
const strong = (name: string) => `${name}-0123456789abcdef0123456789abcdef`;
const BASE = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://auth@db.internal:5432/auth',
  RETAILER_JWT_PRIVATE_KEY: strong('retailer'),
  ADMIN_JWT_PRIVATE_KEY: strong('admin'),
  PORTAL_JWT_PRIVATE_KEY: strong('portal'),
  BRIDGE_JWT_PRIVATE_KEY: strong('bridge'),
  REACTIVATE_JWT_PRIVATE_KEY: strong('reactivate'),
  APP_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
  PUBLIC_BASE_URL: 'https://app.example.com',
};

function refusal(env: Record<string, string>): string {
  try {
    loadAppConfig({ ...BASE, ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('oauth configuration', () => {
  it('defaults to the real platforms, no credentials, and PUBLIC_BASE_URL for callbacks and the dashboard', () => {
    const { oauth } = loadAppConfig(BASE);
    expect(oauth).toEqual({
      callbackBaseUrl: 'https://app.example.com',
      dashboardUrl: 'https://app.example.com',
      dashboardRedirects: ['https://app.example.com'],
      stateTtlMs: 600_000,
      httpTimeoutMs: 10_000,
      shopify: { apiKey: undefined, apiSecret: undefined, adminBaseUrlTemplate: 'https://{shop}/admin', apiVersion: '2026-07', hmacToleranceMs: 90_000 },
      bigcommerce: { clientId: undefined, clientSecret: undefined, tokenUrl: 'https://login.bigcommerce.com/oauth2/token' },
      woocommerce: { appName: 'Retail Analytics', connectTtlMs: 3_600_000 },
      microsoft: { clientId: undefined, clientSecret: undefined, authority: 'https://login.microsoftonline.com/common', scopes: ['https://graph.microsoft.com/Mail.Send'] },
      google: {
        clientId: undefined,
        clientSecret: undefined,
        authUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
        tokenUrl: 'https://oauth2.googleapis.com/token',
        revokeUrl: 'https://oauth2.googleapis.com/revoke',
        userinfoUrl: 'https://openidconnect.googleapis.com/v1/userinfo',
        scopes: ['openid', 'email', 'https://www.googleapis.com/auth/gmail.send'],
      },
    });
  });

  it('reads every variable', () => {
    const { oauth } = loadAppConfig({
      ...BASE,
      NODE_ENV: 'development',
      SHOPIFY_API_KEY: 'k',
      SHOPIFY_API_SECRET: 's',
      SHOPIFY_ADMIN_BASE_URL_TEMPLATE: 'http://127.0.0.1:9999/{shop}/admin/',
      SHOPIFY_API_VERSION: '2026-10',
      SHOPIFY_HMAC_TOLERANCE: '2m',
      BIGCOMMERCE_CLIENT_ID: 'id',
      BIGCOMMERCE_CLIENT_SECRET: 'secret',
      BIGCOMMERCE_TOKEN_URL: 'http://127.0.0.1:9998/oauth2/token',
      OAUTH_CALLBACK_BASE_URL: 'https://api.example.com/',
      OAUTH_DASHBOARD_URL: 'https://dash.example.com/home',
      OAUTH_DASHBOARD_REDIRECTS: 'https://dash.example.com/home, https://dash.example.com/settings/mailboxes?tab=mail',
      OAUTH_STATE_TTL: '5m',
      OAUTH_HTTP_TIMEOUT: '3s',
      WOOCOMMERCE_APP_NAME: 'Acme',
      WOOCOMMERCE_CONNECT_TTL: '2h',
      MICROSOFT_CLIENT_ID: 'ms-id',
      MICROSOFT_CLIENT_SECRET: 'ms-secret',
      MICROSOFT_AUTHORITY: 'https://127.0.0.1:9443/tenant-a/',
      MICROSOFT_MAIL_SCOPES: 'https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/User.Read',
      GOOGLE_CLIENT_ID: 'g-id',
      GOOGLE_CLIENT_SECRET: 'g-secret',
      GOOGLE_AUTH_URL: 'http://127.0.0.1:9997/o/oauth2/v2/auth',
      GOOGLE_TOKEN_URL: 'http://127.0.0.1:9997/token',
      GOOGLE_REVOKE_URL: 'http://127.0.0.1:9997/revoke',
      GOOGLE_USERINFO_URL: 'http://127.0.0.1:9997/v1/userinfo',
      GOOGLE_MAIL_SCOPES: 'openid,email,https://www.googleapis.com/auth/gmail.send',
    });
    expect(oauth).toEqual({
      callbackBaseUrl: 'https://api.example.com',
      dashboardUrl: 'https://dash.example.com/home',
      dashboardRedirects: ['https://dash.example.com/home', 'https://dash.example.com/settings/mailboxes?tab=mail'],
      stateTtlMs: 300_000,
      httpTimeoutMs: 3000,
      shopify: { apiKey: 'k', apiSecret: 's', adminBaseUrlTemplate: 'http://127.0.0.1:9999/{shop}/admin', apiVersion: '2026-10', hmacToleranceMs: 120_000 },
      bigcommerce: { clientId: 'id', clientSecret: 'secret', tokenUrl: 'http://127.0.0.1:9998/oauth2/token' },
      woocommerce: { appName: 'Acme', connectTtlMs: 7_200_000 },
      microsoft: {
        clientId: 'ms-id',
        clientSecret: 'ms-secret',
        authority: 'https://127.0.0.1:9443/tenant-a',
        scopes: ['https://graph.microsoft.com/Mail.Send', 'https://graph.microsoft.com/User.Read'],
      },
      google: {
        clientId: 'g-id',
        clientSecret: 'g-secret',
        authUrl: 'http://127.0.0.1:9997/o/oauth2/v2/auth',
        tokenUrl: 'http://127.0.0.1:9997/token',
        revokeUrl: 'http://127.0.0.1:9997/revoke',
        userinfoUrl: 'http://127.0.0.1:9997/v1/userinfo',
        scopes: ['openid', 'email', 'https://www.googleapis.com/auth/gmail.send'],
      },
    });
  });

  it('refuses half a credential, naming the missing half', () => {
    expect(refusal({ SHOPIFY_API_KEY: 'k' })).toContain('SHOPIFY_API_SECRET');
    expect(refusal({ SHOPIFY_API_SECRET: 's' })).toContain('SHOPIFY_API_KEY');
    expect(refusal({ BIGCOMMERCE_CLIENT_SECRET: 's' })).toContain('BIGCOMMERCE_CLIENT_ID');
    expect(refusal({ MICROSOFT_CLIENT_ID: 'id' })).toContain('MICROSOFT_CLIENT_SECRET');
    expect(refusal({ GOOGLE_CLIENT_SECRET: 's' })).toContain('GOOGLE_CLIENT_ID');
  });

  it('refuses endpoints that are not URLs, a template without {shop}, and plain http in production', () => {
    expect(refusal({ SHOPIFY_ADMIN_BASE_URL_TEMPLATE: 'https://shop.example/admin' })).toContain('{shop}');
    expect(refusal({ SHOPIFY_ADMIN_BASE_URL_TEMPLATE: 'http://127.0.0.1/{shop}/admin' })).toContain('https');
    expect(refusal({ BIGCOMMERCE_TOKEN_URL: 'http://login.example/oauth2/token' })).toContain('BIGCOMMERCE_TOKEN_URL');
    expect(refusal({ BIGCOMMERCE_TOKEN_URL: 'not a url' })).toContain('BIGCOMMERCE_TOKEN_URL');
    expect(refusal({ SHOPIFY_API_VERSION: 'latest' })).toContain('SHOPIFY_API_VERSION');
    expect(refusal({ OAUTH_HTTP_TIMEOUT: 'soon' })).toContain('OAUTH_HTTP_TIMEOUT');
    expect(refusal({ MICROSOFT_AUTHORITY: 'http://login.example/common' })).toContain('MICROSOFT_AUTHORITY');
    expect(refusal({ NODE_ENV: 'development', MICROSOFT_AUTHORITY: 'http://127.0.0.1:9443/tenant' })).toContain('MSAL accepts no other authority');
    expect(refusal({ GOOGLE_TOKEN_URL: 'http://oauth2.example/token' })).toContain('GOOGLE_TOKEN_URL');
    expect(refusal({ OAUTH_DASHBOARD_REDIRECTS: 'https://dash.example.com/a, /relative' })).toContain('OAUTH_DASHBOARD_REDIRECTS');
    expect(refusal({ OAUTH_DASHBOARD_REDIRECTS: 'https://dash.example.com/a#frag' })).toContain('without a fragment');
    expect(refusal({ OAUTH_DASHBOARD_REDIRECTS: 'http://dash.example.com/a' })).toContain('https URLs in production');
  });
});
