import { generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { OAuth2Issuer, OAuth2Service } from 'oauth2-mock-server';
import type { MutableRedirectUri, MutableResponse, MutableToken, TokenRequestIncomingMessage } from 'oauth2-mock-server';

/**
 * A local OpenID Connect provider for SSO tests: oauth2-mock-server (a real authorization server:
 * discovery, JWKS, authorize with PKCE, code exchange, RS256 ID tokens) behind a small HTTP
 * front of our own that lets a test decide, per sign-in, who the provider says signed in and how
 * the provider misbehaves (a tampered ID token, a rogue signing key, a failing or hanging token
 * endpoint).
 *
 * Three shapes, one per provider the service knows:
 * - `google`: the issuer at the root, `http://127.0.0.1:<port>`;
 * - `okta`: a custom authorization server below a path, `http://127.0.0.1:<port>/oauth2/default`;
 * - `microsoft`: Entra ID's multi-tenant endpoint as it really is: it answers for
 *   `https://login.microsoftonline.com` (tests route that origin here with `routeFetch`), its
 *   discovery document publishes the issuer template `https://login.microsoftonline.com/{tenantid}/v2.0`,
 *   and each ID token's `iss` names the token's own tenant (`tid`).
 */

export const MICROSOFT_ORIGIN = 'https://login.microsoftonline.com';
export const DEFAULT_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';

/** What the provider says about the user of one sign-in (ID token claims). */
export interface ProviderIdentity {
  sub?: string;
  email?: string;
  email_verified?: unknown;
  name?: string;
  /** Microsoft: the tenant (also names the issuer). */
  tid?: string;
  [claim: string]: unknown;
}

export interface SignInPlan {
  identity: ProviderIdentity;
  /** Changes the ID token's claims or header after the provider filled them in (wrong aud, iss, nonce, exp...). */
  tamper?: (payload: Record<string, unknown>, header: Record<string, unknown>) => void;
  /** Re-signs the ID token with a key the provider never published (same `kid`, or a new one). */
  rogueKey?: 'same-kid' | 'unknown-kid';
  /** The token endpoint answers this status and OAuth error instead of tokens. */
  tokenError?: { status: number; error: string };
}

type Shape = 'google' | 'okta' | 'microsoft';

interface TokenRequestSeen {
  code?: string;
  codeVerifier?: string;
  clientId?: string;
  hasClientSecret: boolean;
}

export class OidcStandIn {
  private readonly issuer = new OAuth2Issuer();
  private readonly service: OAuth2Service;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly plans = new Map<string, SignInPlan>();
  private next?: SignInPlan;
  private readonly rogue: KeyObject = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  /** Token requests held open while `hangTokenEndpoint` is on. */
  private readonly held = new Set<ServerResponse>();

  /** While true, the token endpoint never answers. */
  hangTokenEndpoint = false;
  /** Every authorize request's query, in order. */
  readonly authorizeRequests: Array<Record<string, string>> = [];
  /** Every token request the provider answered with tokens or a planned error (held and malformed ones are not). */
  readonly tokenRequests: TokenRequestSeen[] = [];
  base = '';

  constructor(readonly shape: Shape) {
    this.service = new OAuth2Service(this.issuer);
    this.service.on('beforeAuthorizeRedirect', (redirect: MutableRedirectUri) => {
      const code = redirect.url.searchParams.get('code');
      if (code && this.next) this.plans.set(code, this.next);
      this.next = undefined;
    });
    this.service.on('beforeTokenSigning', (token: MutableToken, req: TokenRequestIncomingMessage) => {
      // The access token has no `aud` here; the ID token is the one with the client as audience.
      if (token.payload.aud === undefined) return;
      const plan = req.body.code ? this.plans.get(req.body.code) : undefined;
      const identity = plan?.identity ?? {};
      const tid = typeof identity.tid === 'string' ? identity.tid : DEFAULT_TENANT;
      if (this.shape === 'microsoft') Object.assign(token.payload, { iss: `${MICROSOFT_ORIGIN}/${tid}/v2.0`, tid });
      for (const [claim, value] of Object.entries(identity)) if (value !== undefined) token.payload[claim] = value;
      plan?.tamper?.(token.payload, token.header);
    });
    this.service.on('beforeResponse', (response: MutableResponse, req: TokenRequestIncomingMessage) => {
      const body = req.body as unknown as Record<string, unknown>;
      this.tokenRequests.push({
        code: body.code as string | undefined,
        codeVerifier: body.code_verifier as string | undefined,
        clientId: body.client_id as string | undefined,
        hasClientSecret: typeof body.client_secret === 'string',
      });
      const plan = body.code ? this.plans.get(body.code as string) : undefined;
      if (plan?.tokenError) {
        response.statusCode = plan.tokenError.status;
        response.body = { error: plan.tokenError.error };
      } else if (plan?.rogueKey && response.body && typeof response.body.id_token === 'string') {
        response.body.id_token = this.resign(response.body.id_token, plan.rogueKey);
      }
    });
  }

  async start(): Promise<this> {
    await this.issuer.keys.generate('RS256');
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.issuer.url = this.shape === 'microsoft' ? `${MICROSOFT_ORIGIN}/{tenantid}/v2.0` : `${this.base}${this.prefix}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.held) res.destroy();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** What SSO_<NAME>_ISSUER is set to (Microsoft: nothing, its default is used). */
  get issuerUrl(): string {
    return this.shape === 'microsoft' ? `${MICROSOFT_ORIGIN}/organizations/v2.0` : this.issuer.url!;
  }

  /** The origin browsers and the service use for this provider (Microsoft's is routed here). */
  get publicOrigin(): string {
    return this.shape === 'microsoft' ? MICROSOFT_ORIGIN : this.base;
  }

  /** The identity (and misbehaviour) of the next sign-in that reaches the authorize endpoint. */
  nextSignIn(plan: SignInPlan | ProviderIdentity): void {
    this.next = 'identity' in plan && typeof plan.identity === 'object' ? (plan as SignInPlan) : { identity: plan as ProviderIdentity };
  }

  /** Answers the held token requests (with a 504) and stops holding new ones. */
  releaseHeld(): void {
    this.hangTokenEndpoint = false;
    for (const res of this.held) if (!res.writableEnded) res.writeHead(504).end();
    this.held.clear();
  }

  private get prefix(): string {
    return this.shape === 'okta' ? '/oauth2/default' : '';
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.base);
    let path = url.pathname;
    if (this.shape === 'microsoft') {
      if (path === '/organizations/v2.0/.well-known/openid-configuration') return this.json(res, this.microsoftDiscovery());
      path = MICROSOFT_PATHS[path] ?? path;
    } else if (this.prefix && path.startsWith(`${this.prefix}/`)) {
      path = path.slice(this.prefix.length);
    }
    req.url = `${path}${url.search}`;

    if (req.method === 'POST' && path === '/token' && this.hangTokenEndpoint) {
      this.held.add(res);
      return;
    }
    if (req.method === 'GET' && path === '/authorize') this.authorizeRequests.push(Object.fromEntries(url.searchParams));
    this.service.requestHandler(req, res);
  }

  /** The same claims, signed by a key the provider never published (synchronously: the mock's hook is). */
  private resign(idToken: string, mode: 'same-kid' | 'unknown-kid'): string {
    const [headerPart, payloadPart] = idToken.split('.');
    const header = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (mode === 'unknown-kid') header.kid = 'rogue-key-never-published';
    const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${payloadPart}`;
    return `${input}.${sign('sha256', Buffer.from(input), this.rogue).toString('base64url')}`;
  }

  private microsoftDiscovery(): Record<string, unknown> {
    return {
      issuer: `${MICROSOFT_ORIGIN}/{tenantid}/v2.0`,
      authorization_endpoint: `${MICROSOFT_ORIGIN}/organizations/oauth2/v2.0/authorize`,
      token_endpoint: `${MICROSOFT_ORIGIN}/organizations/oauth2/v2.0/token`,
      jwks_uri: `${MICROSOFT_ORIGIN}/organizations/discovery/v2.0/keys`,
      userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      code_challenge_methods_supported: ['plain', 'S256'],
      tenant_region_scope: null,
    };
  }

  private json(res: ServerResponse, body: unknown): void {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }
}

const MICROSOFT_PATHS: Record<string, string> = {
  '/organizations/oauth2/v2.0/authorize': '/authorize',
  '/organizations/oauth2/v2.0/token': '/token',
  '/organizations/discovery/v2.0/keys': '/jwks',
};

/**
 * Routes fetch calls (this process: the service under test and the test's own "browser") for an
 * origin to a stand-in, as DNS and a TLS-terminating proxy would: `https://login.microsoftonline.com/x`
 * is fetched from `http://127.0.0.1:<port>/x`. Returns the function that undoes it.
 */
export function routeFetch(routes: Record<string, string>): () => void {
  const original = globalThis.fetch;
  globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
    const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    for (const [from, to] of Object.entries(routes)) {
      if (href === from || href.startsWith(`${from}/`)) return original(`${to}${href.slice(from.length)}`, init);
    }
    return original(input as never, init);
  }) as typeof fetch;
  return () => {
    globalThis.fetch = original;
  };
}

/** One stand-in per provider name, started. */
export async function startProviders(): Promise<Record<Shape, OidcStandIn>> {
  const [google, microsoft, okta] = await Promise.all([new OidcStandIn('google').start(), new OidcStandIn('microsoft').start(), new OidcStandIn('okta').start()]);
  return { google, microsoft, okta };
}
