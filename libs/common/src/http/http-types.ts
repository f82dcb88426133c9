import type { FastifyReply, FastifyRequest } from 'fastify';
import '@fastify/cookie';

/**
 * The request and response the service's code sees. The service runs on Nest's Fastify adapter
 * (about 2.5x the throughput of the Express adapter on the same guarded route, README), but
 * controllers, guards and services name these aliases and call the helpers below rather than
 * Fastify's API, so the choice of adapter stays in this folder and in create-app.ts.
 */
export type HttpRequest = FastifyRequest;
export type HttpResponse = FastifyReply;

/** Attributes of a cookie the service sets. `maxAge` is in milliseconds (like Express's). */
export interface CookieOptions {
  httpOnly?: boolean;
  sameSite?: 'lax' | 'strict' | 'none';
  secure?: boolean;
  path?: string;
  maxAge?: number;
}

/**
 * Sets a cookie with the same header Express's `res.cookie` wrote before the move: Path `/`
 * unless given, the value through encodeURIComponent, and a `maxAge` (ms) written as both
 * `Max-Age` (seconds) and `Expires`.
 */
export function setCookie(res: HttpResponse, name: string, value: string, options: CookieOptions = {}): void {
  const { maxAge, ...rest } = options;
  const timing = maxAge === undefined ? {} : { maxAge: Math.floor(maxAge / 1000), expires: new Date(Date.now() + maxAge) };
  res.setCookie(name, value, { path: '/', ...rest, ...timing, encode: encodeURIComponent });
}

/** Clears a cookie as Express's `res.clearCookie` did: empty value, `Expires` in 1970, the same attributes. */
export function clearCookie(res: HttpResponse, name: string, options: Omit<CookieOptions, 'maxAge'> = {}): void {
  res.setCookie(name, '', { path: '/', ...options, expires: new Date(1) });
}

/**
 * An HttpOnly, SameSite=Lax cookie scoped to one path that carries a browser through a
 * redirect-based flow (an OAuth install or link, an SSO sign-in) and is read back once at the
 * callback: what each flow's binding cookie is built on.
 */
export class FlowCookie {
  constructor(
    readonly name: string,
    private readonly path: string,
    private readonly secure: boolean,
  ) {}

  set(res: HttpResponse, value: string, ttlMs: number): void {
    setCookie(res, this.name, value, { httpOnly: true, sameSite: 'lax', secure: this.secure, path: this.path, maxAge: ttlMs });
  }

  clear(res: HttpResponse): void {
    clearCookie(res, this.name, { httpOnly: true, sameSite: 'lax', secure: this.secure, path: this.path });
  }

  /** The cookie's value when present, non-empty and at most `maxLength` characters. */
  read(req: HttpRequest, maxLength: number): string | undefined {
    const raw = (req.cookies as Record<string, unknown> | undefined)?.[this.name];
    return typeof raw === 'string' && raw.length > 0 && raw.length <= maxLength ? raw : undefined;
  }
}

// encodeurl's rule (what Express applied to Location): encode what a URL may not hold, keep
// valid percent-escapes as they are.
const URL_UNSAFE = /(?:[^\x21\x23-\x3B\x3D\x3F-\x5F\x61-\x7A\x7C\x7E]|%(?:[^0-9A-Fa-f]|[0-9A-Fa-f][^0-9A-Fa-f]|$))+/g;
const LONE_SURROGATE = /(^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]|[\uD800-\uDBFF]([^\uDC00-\uDFFF]|$)/g;

/** A 302 to `url`, its Location encoded as Express's `res.redirect` did (the body is empty). */
export function redirect(res: HttpResponse, url: string): void {
  const location = url.replace(LONE_SURROGATE, '$1\uFFFD$2').replace(URL_UNSAFE, encodeURI);
  res.redirect(location, 302);
}

export function setHeader(res: HttpResponse, name: string, value: string): void {
  res.header(name, value);
}

/** The path of the request without its query string. */
export function pathOf(req: HttpRequest): string {
  const url = req.url ?? '';
  const at = url.indexOf('?');
  return at === -1 ? url : url.slice(0, at);
}

/**
 * The matched route pattern (e.g. `/api/v1/auth/sessions/:id`); undefined for unknown paths and
 * for wildcard routes (the CORS preflight's `*`, the Swagger UI's assets), as on Express.
 */
export function routePatternOf(req: HttpRequest): string | undefined {
  const pattern = req.is404 ? undefined : req.routeOptions?.url;
  return pattern && !pattern.includes('*') ? pattern : undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The principal a guard authenticated (set by passport and the guards). */
    user?: unknown;
    /** The exact body bytes, kept only for the paths that verify an HMAC over them (webhooks). */
    rawBody?: Buffer;
  }
}
