import { randomToken, safeEqual, sha256Hex } from '@app/common/crypto';
import { FlowCookie, type HttpRequest, type HttpResponse } from '@app/common/http';

export const SSO_BROWSER_COOKIE = 'sso_browser';

export function ssoCallbackPath(provider: string): string {
  return `${ssoProviderPath(provider)}/callback`;
}

/** Sign-ins one browser may have under way with one provider at once (tabs); the oldest goes first. */
export const SSO_BROWSER_MAX_PENDING = 5;

/** Sent only to the routes of the provider the sign-in started with (its start and its callback). */
export function ssoProviderPath(provider: string): string {
  return `/api/v1/auth/sso/${provider}`;
}

/** Which sign-in an entry belongs to: a short hash of its state (the state itself travels in URLs). */
const tagOf = (state: string): string => sha256Hex(state).slice(0, 16);
const ENTRY = /^([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/;

interface Entry {
  tag: string;
  secret: string;
}

/**
 * Binds an SSO `state` to the browser that started the sign-in: a random secret in an HttpOnly
 * cookie (SameSite=Lax, so it rides along the provider's top-level redirect back, and Path set to
 * the provider's routes so no other route ever sees it), whose SHA-256 is stored in the state's
 * row. A callback URL (state and code) carried to another browser lacks the secret and is
 * refused, which is what stops login CSRF: an attacker cannot sign a victim into the attacker's
 * account.
 *
 * The cookie holds one secret per sign-in under way, keyed by a hash of its state, newest first
 * and at most SSO_BROWSER_MAX_PENDING: sign-ins started in several tabs each come back to their
 * own secret. A callback spends its entry and leaves the others.
 */
export class SsoBrowserCookie {
  constructor(private readonly secure: boolean) {}

  private cookie(provider: string): FlowCookie {
    return new FlowCookie(SSO_BROWSER_COOKIE, ssoProviderPath(provider), this.secure);
  }

  /** Adds a binding for `state` to the browser's cookie and returns the hash to store with the state. */
  bind(req: HttpRequest, res: HttpResponse, provider: string, state: string, ttlMs: number): string {
    const secret = randomToken(32);
    const tag = tagOf(state);
    const others = this.entries(req, provider).filter((e) => e.tag !== tag);
    this.write(res, provider, [{ tag, secret }, ...others].slice(0, SSO_BROWSER_MAX_PENDING), ttlMs);
    return sha256Hex(secret);
  }

  /** True when this request carries the secret of `state` whose hash the state row holds (constant time). */
  matches(req: HttpRequest, provider: string, state: string, storedHash: unknown): boolean {
    const tag = tagOf(state);
    const entry = this.entries(req, provider).find((e) => e.tag === tag);
    return entry !== undefined && typeof storedHash === 'string' && safeEqual(sha256Hex(entry.secret), storedHash);
  }

  /** Drops the binding of a spent `state`; the cookie goes when it was the last one. */
  release(req: HttpRequest, res: HttpResponse, provider: string, state: string, ttlMs: number): void {
    const tag = tagOf(state);
    this.write(res, provider, this.entries(req, provider).filter((e) => e.tag !== tag), ttlMs);
  }

  private entries(req: HttpRequest, provider: string): Entry[] {
    const raw = this.cookie(provider).read(req, SSO_BROWSER_MAX_PENDING * 61);
    if (!raw) return [];
    return raw.split('~').flatMap((part) => {
      const m = ENTRY.exec(part);
      return m ? [{ tag: m[1], secret: m[2] }] : [];
    });
  }

  private write(res: HttpResponse, provider: string, entries: Entry[], ttlMs: number): void {
    if (entries.length) this.cookie(provider).set(res, entries.map((e) => `${e.tag}.${e.secret}`).join('~'), ttlMs);
    else this.cookie(provider).clear(res);
  }
}
