import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, IncomingMessage, request as httpRequest, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, globalAgent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { OAuth2Issuer, OAuth2Service, type MutableRedirectUri, type MutableResponse, type MutableToken, type StatusCodeMutableResponse } from 'oauth2-mock-server';

/**
 * Local stand-ins for Microsoft's identity platform and Google's OAuth endpoints: a real OAuth 2 /
 * OpenID provider (oauth2-mock-server: discovery, JWKS, authorize with PKCE, code and refresh
 * grants, userinfo, revocation) on loopback, shaped like each provider and made strict where the
 * library is lenient: client credentials are checked, codes are single use, bound to their
 * redirect URI and (when issued with a challenge) unredeemable without the PKCE verifier; refresh
 * tokens must be ones it issued and not revoked; userinfo needs a live access token. The token
 * endpoint can fail with a 500 or hang, so the service's handling of both is tested for real.
 *
 * Microsoft's stand-in speaks https (MSAL refuses an http authority) with a self-signed loopback
 * certificate that this process's https agent is told to trust; the real MSAL discovers it
 * through `{authority}/v2.0/.well-known/openid-configuration` (authority host in knownAuthorities).
 */

export type TokenEndpointMode = 'ok' | 'error500' | 'hang';

export interface MailboxUser {
  sub: string;
  email: string;
  name: string;
}

interface IssuedCode {
  user: MailboxUser;
  clientId: string;
  redirectUri: string;
  scope: string;
  challenge: string | null;
  used: boolean;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

export function newMailboxUser(domain = 'mail.example'): MailboxUser {
  const id = hex(6);
  return { sub: `user-${id}`, email: `merchant.${id}@${domain}`, name: `Merchant ${id}` };
}

/** A self-signed certificate for 127.0.0.1 (openssl), trusted by this process's https agent. */
function loopbackCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mailbox-standin-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      { stdio: 'ignore' },
    );
    const pair = { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
    // The service's MSAL network client goes through node:https and its global agent.
    const current = globalAgent.options.ca;
    const existing = current === undefined ? [...rootCertificates] : [current].flat().map(String);
    globalAgent.options.ca = [...existing, pair.cert];
    return pair;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

abstract class MailboxStandIn {
  private server!: Server;
  protected readonly issuer = new OAuth2Issuer();
  protected service!: OAuth2Service;
  private tls: { key: string; cert: string } | null = null;
  port = 0;

  /** Every request, in order: `METHOD /path`. */
  readonly requests: string[] = [];
  /** Every token request's form body (grant_type, code_verifier...). */
  readonly tokenRequests: Array<Record<string, string>> = [];
  readonly issuedAccessTokens: string[] = [];
  readonly issuedRefreshTokens: string[] = [];
  readonly revokedTokens: string[] = [];
  /** How the token endpoint answers. */
  tokenMode: TokenEndpointMode = 'ok';
  /** `expires_in` of the access tokens it issues. */
  accessTokenTtlSec = 3600;
  /** Who approves the next authorize request. */
  user: MailboxUser = newMailboxUser();
  /** Set to grant fewer scopes than asked (a user unticking a permission at consent). */
  grantScopes: ((asked: string) => string) | null = null;

  private readonly codes = new Map<string, IssuedCode>();
  private readonly refreshTokens = new Map<string, { user: MailboxUser; scope: string; revoked: boolean }>();

  constructor(
    readonly clientId: string,
    readonly clientSecret: string,
    private readonly useTls: boolean,
  ) {}

  protected abstract readonly paths: { wellKnownDocument: string; authorize: string; token: string; jwks: string; userinfo: string; revoke: string };
  /** Whether a refresh grant answers a new refresh token (Microsoft rotates; Google does not). */
  protected abstract readonly rotatesRefreshTokens: boolean;
  /** Provider-specific claims and response fields. */
  protected abstract shapeToken(token: MutableToken, user: MailboxUser): void;
  protected abstract shapeResponse(body: Record<string, unknown>, user: MailboxUser): void;

  async start(): Promise<this> {
    await this.issuer.keys.generate('RS256');
    this.service = new OAuth2Service(this.issuer, this.paths);
    this.wire();
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? '').split('?')[0];
      this.requests.push(`${req.method} ${path}`);
      if (req.method === 'POST' && path === this.paths.token) {
        if (this.tokenMode === 'hang') return; // never answers; the socket stays open
        if (this.tokenMode === 'error500') return send(res, 500, { error: 'server_error', error_description: 'Internal Server Error' });
      }
      (this.service.requestHandler as (req: IncomingMessage, res: ServerResponse) => void)(req, res);
    };
    if (this.useTls) {
      this.tls = loopbackCertificate();
      this.server = createHttpsServer({ key: this.tls.key, cert: this.tls.cert }, handler);
    } else {
      this.server = createHttpServer(handler);
    }
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    this.issuer.url = this.base;
    return this;
  }

  get base(): string {
    return `${this.useTls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Token requests of a grant type so far. */
  grants(type: string): Array<Record<string, string>> {
    return this.tokenRequests.filter((r) => r.grant_type === type);
  }

  /** The merchant approves at the authorize URL: answers where the provider sends the browser (the Location). */
  approve(authorizeUrl: string): Promise<URL> {
    return new Promise((resolve, reject) => {
      const url = new URL(authorizeUrl);
      const get = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = get(url, { method: 'GET', ...(this.tls ? { ca: this.tls.cert } : {}) }, (res) => {
        res.resume();
        const location = res.headers.location;
        if (res.statusCode !== 302 || !location) return reject(new Error(`authorize answered ${res.statusCode}`));
        resolve(new URL(location));
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** Posts straight to the token endpoint, as a client would (to show what the stand-in refuses). */
  postToken(form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const body = new URLSearchParams(form).toString();
      const url = new URL(this.paths.token, this.base);
      const post = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = post(
        url,
        { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) }, ...(this.tls ? { ca: this.tls.cert } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown> }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  private wire(): void {
    this.service.on('beforeAuthorizeRedirect', (redirect: MutableRedirectUri, req: IncomingMessage & { query: Record<string, string | undefined> }) => {
      const code = redirect.url.searchParams.get('code');
      if (!code) return;
      const q = req.query;
      if (q.client_id !== this.clientId) {
        redirect.url.searchParams.delete('code');
        redirect.url.searchParams.set('error', 'unauthorized_client');
        return;
      }
      const asked = q.scope ?? '';
      this.codes.set(code, {
        user: this.user,
        clientId: q.client_id,
        redirectUri: q.redirect_uri ?? '',
        scope: this.grantScopes ? this.grantScopes(asked) : asked,
        challenge: q.code_challenge ?? null,
        used: false,
      });
    });

    this.service.on('beforeTokenSigning', (token: MutableToken, req: IncomingMessage & { body: Record<string, string> }) => {
      const user = this.userOf(req.body);
      if (!user) return;
      token.payload.jti = randomUUID();
      token.payload.sub = user.sub;
      this.shapeToken(token, user);
    });

    this.service.on('beforeResponse', (response: MutableResponse, req: IncomingMessage & { body: Record<string, string>; headers: Record<string, string> }) => {
      const body = req.body;
      this.tokenRequests.push({ ...body });
      const refuse = (status: number, error: string, description: string) => {
        response.statusCode = status;
        response.body = { error, error_description: description };
      };
      if (body.client_id !== this.clientId || body.client_secret !== this.clientSecret) return refuse(401, 'invalid_client', 'client authentication failed');
      if (body.grant_type === 'authorization_code') {
        const code = this.codes.get(body.code);
        if (!code || code.used) return refuse(400, 'invalid_grant', 'the code is unknown or was already redeemed');
        code.used = true;
        if (code.redirectUri !== body.redirect_uri) return refuse(400, 'invalid_grant', 'redirect_uri does not match the authorize request');
        // oauth2-mock-server checks a verifier it is given; a missing one is refused here (RFC 7636 4.6).
        if (code.challenge && !body.code_verifier) return refuse(400, 'invalid_grant', 'code_verifier is required for this code');
        if (response.statusCode !== 200 || typeof response.body !== 'object') return;
        response.body.scope = code.scope;
        this.finish(response.body, code.user, code.scope);
        return;
      }
      if (body.grant_type === 'refresh_token') {
        const grant = this.refreshTokens.get(body.refresh_token);
        if (!grant || grant.revoked) return refuse(400, 'invalid_grant', 'the refresh token is unknown, expired or revoked');
        if (response.statusCode !== 200 || typeof response.body !== 'object') return;
        response.body.scope = grant.scope;
        if (!this.rotatesRefreshTokens) delete response.body.refresh_token;
        this.finish(response.body, grant.user, grant.scope);
        return;
      }
      refuse(400, 'unsupported_grant_type', 'only authorization_code and refresh_token');
    });

    this.service.on('beforeUserinfo', (response: MutableResponse, req: IncomingMessage) => {
      const token = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
      const user = token && !this.revokedTokens.includes(token) ? this.accessTokenUsers.get(token) : undefined;
      if (!user) {
        response.statusCode = 401;
        response.body = { error: 'invalid_token' };
        return;
      }
      response.body = { sub: user.sub, email: user.email, email_verified: true, name: user.name };
    });

    this.service.on('beforeRevoke', (response: StatusCodeMutableResponse, req: IncomingMessage) => {
      const token = new URL(req.url ?? '/', this.base).searchParams.get('token');
      const grant = token ? this.refreshTokens.get(token) : undefined;
      if (!token || (!grant && !this.accessTokenUsers.has(token))) {
        response.statusCode = 400;
        return;
      }
      this.revokedTokens.push(token);
      if (grant) grant.revoked = true;
    });
  }

  private readonly accessTokenUsers = new Map<string, MailboxUser>();

  private userOf(body: Record<string, string> | undefined): MailboxUser | undefined {
    if (!body) return undefined;
    if (body.grant_type === 'authorization_code') return this.codes.get(body.code)?.user;
    if (body.grant_type === 'refresh_token') return this.refreshTokens.get(body.refresh_token)?.user;
    return undefined;
  }

  private finish(body: Record<string, unknown>, user: MailboxUser, scope: string): void {
    body.expires_in = this.accessTokenTtlSec;
    const access = String(body.access_token);
    this.issuedAccessTokens.push(access);
    this.accessTokenUsers.set(access, user);
    if (typeof body.refresh_token === 'string') {
      this.issuedRefreshTokens.push(body.refresh_token);
      this.refreshTokens.set(body.refresh_token, { user, scope, revoked: false });
    }
    this.shapeResponse(body, user);
  }
}

/**
 * Microsoft's identity platform for one tenant: `{base}/{tenant}/v2.0/.well-known/openid-configuration`,
 * `/{tenant}/oauth2/v2.0/authorize|token`; ID tokens with `oid`, `tid`, `preferred_username`;
 * `client_info` in token answers (MSAL builds the account's home id from it); refresh tokens rotate.
 * Microsoft offers no revocation endpoint to apps.
 */
export class MicrosoftStandIn extends MailboxStandIn {
  readonly tenant = `tenant-${hex(4)}`;
  protected readonly rotatesRefreshTokens = true;
  protected readonly paths = {
    wellKnownDocument: `/${this.tenant}/v2.0/.well-known/openid-configuration`,
    authorize: `/${this.tenant}/oauth2/v2.0/authorize`,
    token: `/${this.tenant}/oauth2/v2.0/token`,
    jwks: `/${this.tenant}/discovery/v2.0/keys`,
    userinfo: '/oidc/userinfo',
    revoke: '/unsupported/revoke',
  };

  constructor(clientId: string, clientSecret: string) {
    super(clientId, clientSecret, true);
  }

  /** MICROSOFT_AUTHORITY for the service. */
  get authority(): string {
    return `${this.base}/${this.tenant}`;
  }

  /** The home account id MSAL derives for a user (`oid.tid`): the connection's external id. */
  homeAccountId(user: MailboxUser): string {
    return `${user.sub}.${this.tenant}`;
  }

  protected shapeToken(token: MutableToken, user: MailboxUser): void {
    Object.assign(token.payload, { oid: user.sub, tid: this.tenant, preferred_username: user.email, name: user.name, ver: '2.0' });
  }

  protected shapeResponse(body: Record<string, unknown>, user: MailboxUser): void {
    body.client_info = Buffer.from(JSON.stringify({ uid: user.sub, utid: this.tenant })).toString('base64url');
  }
}

/** Google's OAuth 2 endpoints: authorize, token (no refresh-token rotation), revoke, OpenID userinfo. */
export class GoogleStandIn extends MailboxStandIn {
  protected readonly rotatesRefreshTokens = false;
  protected readonly paths = {
    wellKnownDocument: '/.well-known/openid-configuration',
    authorize: '/o/oauth2/v2/auth',
    token: '/token',
    jwks: '/oauth2/v3/certs',
    userinfo: '/v1/userinfo',
    revoke: '/revoke',
  };

  constructor(clientId: string, clientSecret: string) {
    super(clientId, clientSecret, false);
  }

  /** The GOOGLE_* endpoint variables for the service. */
  get env(): Record<string, string> {
    return {
      GOOGLE_AUTH_URL: `${this.base}${this.paths.authorize}`,
      GOOGLE_TOKEN_URL: `${this.base}${this.paths.token}`,
      GOOGLE_REVOKE_URL: `${this.base}${this.paths.revoke}`,
      GOOGLE_USERINFO_URL: `${this.base}${this.paths.userinfo}`,
    };
  }

  protected shapeToken(token: MutableToken, user: MailboxUser): void {
    Object.assign(token.payload, { email: user.email, email_verified: true });
  }

  protected shapeResponse(): void {
    // Google's answer is already OAuth-standard: access_token, expires_in, scope, refresh_token, id_token.
  }
}
