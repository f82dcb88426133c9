import { createHmac, randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { forgeJwt, JwtHeader, JwtPayload } from './jwt-forge';

/**
 * Local stand-ins for the store platforms, on loopback, speaking each platform's documented
 * protocol: Shopify's authorize redirect (with its callback HMAC), token endpoint, shop API,
 * api_permissions revocation and webhook signatures; BigCommerce's token endpoint and
 * signed_payload_jwt; WooCommerce's /wc-auth/v1/authorize key delivery. Each can be told to
 * fail its token endpoint with a 500 or to hang, so the service's timeouts are tested for real.
 */

export type TokenMode = 'ok' | 'error500' | 'hang' | 'refuse400';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** A node:http server on 127.0.0.1:0 that closes its (possibly hanging) connections when stopped. */
abstract class StandIn {
  protected server!: Server;
  port = 0;
  /** Every request received, in order: `METHOD /path`. */
  readonly requests: string[] = [];
  /** How the token endpoint answers. */
  tokenMode: TokenMode = 'ok';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.requests.push(`${req.method} ${(req.url ?? '').split('?')[0]}`);
      this.handle(req, res).catch((err: unknown) => send(res, 500, { error: String(err) }));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Answers per `tokenMode`; true when the caller should go on and answer normally. */
  protected tokenModeAnswer(res: ServerResponse): boolean {
    if (this.tokenMode === 'hang') return false; // never answers; the socket stays open
    if (this.tokenMode === 'error500') {
      send(res, 500, { errors: 'Internal Server Error' });
      return false;
    }
    if (this.tokenMode === 'refuse400') {
      send(res, 400, { error: 'invalid_request', error_description: 'The authorization code was not found or was already used' });
      return false;
    }
    return true;
  }

  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export interface ShopDetails {
  name: string;
  email: string;
  owner: string;
}

/**
 * Shopify, per shop under `/{shop}/admin` (the service's SHOPIFY_ADMIN_BASE_URL_TEMPLATE is
 * `http://127.0.0.1:PORT/{shop}/admin`, so shop hostnames stay real `*.myshopify.com` names).
 */
export class ShopifyStandIn extends StandIn {
  readonly shops = new Map<string, ShopDetails>();
  private readonly codes = new Map<string, { shop: string; used: boolean }>();
  /** Every access token handed out, to look for them in clear in the database. */
  readonly issuedTokens: string[] = [];
  /** Tokens revoked through DELETE /admin/api_permissions/current.json. */
  readonly revokedTokens: string[] = [];
  private readonly tokens = new Map<string, string>();
  /** Set to make DELETE api_permissions/current.json fail with a 500. */
  failRevocation = false;

  constructor(
    readonly apiKey: string,
    readonly apiSecret: string,
  ) {
    super();
  }

  get adminTemplate(): string {
    return `${this.base}/{shop}/admin`;
  }

  addShop(shop: string, details: Partial<ShopDetails> = {}): string {
    this.shops.set(shop, { name: details.name ?? `Shop ${shop.split('.')[0]}`, email: details.email ?? `owner.${hex(4)}@${shop.split('.')[0]}.example`, owner: details.owner ?? 'Shop Owner' });
    return shop;
  }

  /** Shopify's callback HMAC: hex HMAC-SHA256 over the sorted query without `hmac`. */
  sign(params: Record<string, string>): string {
    const sorted = Object.entries(params)
      .filter(([k]) => k !== 'hmac' && k !== 'signature')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return createHmac('sha256', this.apiSecret).update(new URLSearchParams(sorted).toString()).digest('hex');
  }

  /** A signed query string (the parameters plus their `hmac`). */
  signedQuery(params: Record<string, string>): string {
    return new URLSearchParams({ ...params, hmac: this.sign(params) }).toString();
  }

  /** A fresh authorization code for the shop, as the authorize step would issue it. */
  issueCode(shop: string): string {
    const code = hex(16);
    this.codes.set(code, { shop, used: false });
    return code;
  }

  /** Headers of a webhook delivery signed over exactly `rawBody`. */
  webhookHeaders(rawBody: string, topic: string, shop: string, webhookId = `wh-${hex(8)}`): Record<string, string> {
    return {
      'content-type': 'application/json',
      'x-shopify-hmac-sha256': createHmac('sha256', this.apiSecret).update(rawBody, 'utf8').digest('base64'),
      'x-shopify-topic': topic,
      'x-shopify-shop-domain': shop,
      'x-shopify-webhook-id': webhookId,
      'x-shopify-api-version': '2026-07',
    };
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.base);
    const match = /^\/([^/]+)\/admin\/(.+)$/.exec(url.pathname);
    const shop = match?.[1];
    const rest = match?.[2];
    if (!shop || !rest || !this.shops.has(shop)) return send(res, 404, { errors: 'Not Found' });

    if (req.method === 'GET' && rest === 'oauth/authorize') {
      // The merchant approves at once: redirect to redirect_uri with a signed callback query.
      if (url.searchParams.get('client_id') !== this.apiKey) return send(res, 400, { error: 'unknown client_id' });
      const redirectUri = url.searchParams.get('redirect_uri');
      if (!redirectUri) return send(res, 400, { error: 'redirect_uri missing' });
      const params: Record<string, string> = {
        code: this.issueCode(shop),
        host: Buffer.from(`admin.shopify.com/store/${shop.split('.')[0]}`).toString('base64'),
        shop,
        state: url.searchParams.get('state') ?? '',
        timestamp: String(Math.floor(Date.now() / 1000)),
      };
      res.writeHead(302, { location: `${redirectUri}?${this.signedQuery(params)}` });
      return void res.end();
    }

    if (req.method === 'POST' && rest === 'oauth/access_token') {
      const body = JSON.parse((await readBody(req)) || '{}') as Record<string, string>;
      if (!this.tokenModeAnswer(res)) return;
      if (body.client_id !== this.apiKey || body.client_secret !== this.apiSecret) return send(res, 400, { error: 'invalid_client' });
      const code = this.codes.get(body.code);
      if (!code || code.used || code.shop !== shop) return send(res, 400, { error: 'invalid_request' });
      code.used = true;
      const token = `shpat_${hex(16)}`;
      this.issuedTokens.push(token);
      this.tokens.set(token, shop);
      return send(res, 200, { access_token: token, scope: 'read_products,read_orders,read_customers,read_reports' });
    }

    const token = req.headers['x-shopify-access-token'];
    const authorised = typeof token === 'string' && this.tokens.get(token) === shop && !this.revokedTokens.includes(token);
    if (req.method === 'GET' && /^api\/[^/]+\/shop\.json$/.test(rest)) {
      if (!authorised) return send(res, 401, { errors: '[API] Invalid API key or access token' });
      const details = this.shops.get(shop)!;
      return send(res, 200, { shop: { name: details.name, email: details.email, shop_owner: details.owner, myshopify_domain: shop } });
    }
    if (req.method === 'DELETE' && rest === 'api_permissions/current.json') {
      if (this.failRevocation) return send(res, 500, { errors: 'Internal Server Error' });
      if (!authorised) return send(res, 401, { errors: '[API] Invalid API key or access token' });
      this.revokedTokens.push(token);
      return send(res, 200, {});
    }
    return send(res, 404, { errors: 'Not Found' });
  }
}

export interface BigCommerceStore {
  hash: string;
  ownerEmail: string;
}

/** BigCommerce's token endpoint (`POST /oauth2/token`) and its signed payloads. */
export class BigCommerceStandIn extends StandIn {
  private readonly codes = new Map<string, { store: BigCommerceStore; used: boolean; scope: string }>();
  readonly issuedTokens: string[] = [];
  /** Set to answer with a token for another store than asked (an attack on the service). */
  answerContextOverride: string | null = null;

  constructor(
    readonly clientId: string,
    readonly clientSecret: string,
    readonly redirectUri: string,
  ) {
    super();
  }

  get tokenUrl(): string {
    return `${this.base}/oauth2/token`;
  }

  newStore(ownerEmail = `bc.owner.${hex(4)}@store.example`): BigCommerceStore {
    return { hash: hex(5), ownerEmail };
  }

  /** The query the control panel sends to the auth callback when the merchant installs the app. */
  installQuery(store: BigCommerceStore, scope = 'store_v2_orders_read_only store_v2_products_read_only'): Record<string, string> {
    const code = hex(12);
    this.codes.set(code, { store, used: false, scope });
    return { code, scope, context: `stores/${store.hash}`, account_uuid: `acct-${hex(6)}` };
  }

  /** A `signed_payload_jwt` as BigCommerce signs it (HS256, client secret), with overrides for attacks. */
  signedPayload(store: BigCommerceStore, options: { payload?: JwtPayload; header?: JwtHeader; secret?: string | null } = {}): string {
    const now = Math.floor(Date.now() / 1000);
    const payload: JwtPayload = {
      aud: this.clientId,
      iss: 'bc',
      iat: now,
      nbf: now - 5,
      exp: now + 86_400,
      jti: hex(16),
      sub: `stores/${store.hash}`,
      user: { id: 9876, email: store.ownerEmail, locale: 'en' },
      owner: { id: 9876, email: store.ownerEmail },
      url: '/',
      channel_id: null,
      ...options.payload,
    };
    const secret = options.secret === null ? undefined : (options.secret ?? this.clientSecret);
    return forgeJwt({ header: { typ: 'JWT', alg: 'HS256', ...options.header }, payload, secret });
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.base);
    if (req.method !== 'POST' || url.pathname !== '/oauth2/token') return send(res, 404, { error: 'not found' });
    const raw = await readBody(req);
    const body = (String(req.headers['content-type']).includes('json') ? JSON.parse(raw || '{}') : Object.fromEntries(new URLSearchParams(raw))) as Record<string, string>;
    if (!this.tokenModeAnswer(res)) return;
    if (body.client_id !== this.clientId || body.client_secret !== this.clientSecret) return send(res, 401, { error: 'invalid_client' });
    if (body.grant_type !== 'authorization_code' || body.redirect_uri !== this.redirectUri) return send(res, 400, { error: 'invalid_request' });
    const code = this.codes.get(body.code);
    if (!code || code.used || body.context !== `stores/${code.store.hash}`) return send(res, 400, { error: 'invalid_grant' });
    code.used = true;
    const token = hex(16);
    this.issuedTokens.push(token);
    const person = { id: 9876, username: 'Store Owner', email: code.store.ownerEmail };
    return send(res, 200, {
      access_token: token,
      scope: code.scope,
      user: person,
      owner: person,
      context: this.answerContextOverride ?? `stores/${code.store.hash}`,
      account_uuid: `acct-${hex(6)}`,
    });
  }
}

export interface WooKeys {
  key_id: number;
  user_id: string;
  consumer_key: string;
  consumer_secret: string;
  key_permissions: string;
}

/**
 * A WooCommerce store's side of /wc-auth/v1/authorize: checks the request the service built, and
 * on approval delivers the key pair to `callback_url` the way WooCommerce does (a JSON POST), then
 * answers where the browser would be sent (`return_url` with `success=1`).
 */
export class WooCommerceStandIn {
  readonly issuedKeys: WooKeys[] = [];

  constructor(readonly storeUrl: string) {}

  /** The parameters of an authorize URL, checked against WooCommerce's documented ones. */
  parse(authorizeUrl: string): { appName: string; scope: string; userId: string; returnUrl: string; callbackUrl: string } {
    const url = new URL(authorizeUrl);
    if (`${url.origin}${url.pathname}` !== `${this.storeUrl}/wc-auth/v1/authorize`) throw new Error(`not this store's authorize endpoint: ${authorizeUrl}`);
    const get = (name: string) => {
      const value = url.searchParams.get(name);
      if (!value) throw new Error(`authorize URL lacks ${name}`);
      return value;
    };
    return { appName: get('app_name'), scope: get('scope'), userId: get('user_id'), returnUrl: get('return_url'), callbackUrl: get('callback_url') };
  }

  /** A key pair as WooCommerce generates it (ck_/cs_ + 40 hex). */
  keysFor(userId: string): WooKeys {
    const keys = { key_id: Math.floor(Math.random() * 1000) + 1, user_id: userId, consumer_key: `ck_${hex(20)}`, consumer_secret: `cs_${hex(20)}`, key_permissions: 'read' };
    this.issuedKeys.push(keys);
    return keys;
  }

  /**
   * The merchant approves: `deliver` posts the keys to the callback URL (the test maps it onto the
   * instance); the answer is its status and the return URL the browser would go to.
   */
  async approve(authorizeUrl: string, deliver: (callbackUrl: string, body: WooKeys) => Promise<{ status: number }>): Promise<{ status: number; keys: WooKeys; returnUrl: string }> {
    const request = this.parse(authorizeUrl);
    const keys = this.keysFor(request.userId);
    const { status } = await deliver(request.callbackUrl, keys);
    const back = new URL(request.returnUrl);
    back.searchParams.set('success', status === 200 ? '1' : '0');
    back.searchParams.set('user_id', request.userId);
    return { status, keys, returnUrl: back.toString() };
  }
}
