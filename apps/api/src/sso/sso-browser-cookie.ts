import { randomToken, safeEqual, sha256Hex } from '@app/common/crypto';
import { FlowCookie, type HttpRequest, type HttpResponse } from '@app/common/http';

/** Each sign-in's cookie is this prefix and a tag of its state: `sso_browser_<16 hex>`. */
export const SSO_BROWSER_COOKIE = 'sso_browser_';

/** Sign-ins one browser may have under way with one provider at once (tabs); the oldest goes first. */
export const SSO_BROWSER_MAX_PENDING = 5;

/** Sent only to the routes of the provider the sign-in started with (its start and its callback). */
export function ssoProviderPath(provider: string): string {
  return `/api/v1/auth/sso/${provider}`;
}

export function ssoCallbackPath(provider: string): string {
  return `${ssoProviderPath(provider)}/callback`;
}

/** A sign-in's cookie is named after a short hash of its state (the state itself travels in URLs). */
const nameOf = (state: string): string => `${SSO_BROWSER_COOKIE}${sha256Hex(state).slice(0, 16)}`;
const NAME = /^sso_browser_[0-9a-f]{16}$/;
/** `<start time, base 36 ms>.<secret>`: the time orders a browser's sign-ins for the cap. */
const VALUE = /^([0-9a-z]{1,11})\.([A-Za-z0-9_-]{43})$/;

/**
 * Binds an SSO `state` to the browser that started the sign-in: a random secret in an HttpOnly
 * cookie (SameSite=Lax, so it rides along the provider's top-level redirect back, and Path set to
 * the provider's routes so no other route ever sees it), whose SHA-256 is stored in the state's
 * row. A callback URL (state and code) carried to another browser lacks the secret and is
 * refused, which is what stops login CSRF: an attacker cannot sign a victim into the attacker's
 * account.
 *
 * One cookie per sign-in, named after a hash of its state: sign-ins started in several tabs each
 * come back to their own cookie, and no answer rewrites another sign-in's (tabs racing each other
 * lose nothing). A start drops the oldest beyond SSO_BROWSER_MAX_PENDING, so a page that makes a
 * browser start sign-ins over and over cannot grow its cookies without bound.
 */
export class SsoBrowserCookie {
  constructor(private readonly secure: boolean) {}

  private cookie(provider: string, name: string): FlowCookie {
    return new FlowCookie(name, ssoProviderPath(provider), this.secure);
  }

  /** Sets the binding cookie of `state` and returns the hash to store with the state. */
  bind(req: HttpRequest, res: HttpResponse, provider: string, state: string, ttlMs: number): string {
    const secret = randomToken(32);
    // Newest first. Browsers send cookies of one path oldest first, so the reversed order breaks
    // ties between sign-ins started in the same millisecond (the sort is stable).
    const older = this.pending(req)
      .reverse()
      .sort((a, b) => b.startedAt - a.startedAt)
      .slice(SSO_BROWSER_MAX_PENDING - 1);
    for (const { name } of older) this.cookie(provider, name).clear(res);
    this.cookie(provider, nameOf(state)).set(res, `${Date.now().toString(36)}.${secret}`, ttlMs);
    return sha256Hex(secret);
  }

  /** True when this request carries the secret of `state` whose hash the state row holds (constant time). */
  matches(req: HttpRequest, provider: string, state: string, storedHash: unknown): boolean {
    const raw = this.cookie(provider, nameOf(state)).read(req, 64);
    const secret = raw ? VALUE.exec(raw)?.[2] : undefined;
    return secret !== undefined && typeof storedHash === 'string' && safeEqual(sha256Hex(secret), storedHash);
  }

  /** Drops the cookie of a spent `state`; the browser's other sign-ins keep theirs. */
  release(res: HttpResponse, provider: string, state: string): void {
    this.cookie(provider, nameOf(state)).clear(res);
  }

  /** The sign-in cookies this request carries (only the provider's routes receive them). */
  private pending(req: HttpRequest): Array<{ name: string; startedAt: number }> {
    const cookies = (req.cookies ?? {}) as Record<string, unknown>;
    return Object.entries(cookies).flatMap(([name, value]) => {
      const m = NAME.test(name) && typeof value === 'string' ? VALUE.exec(value) : null;
      return m ? [{ name, startedAt: parseInt(m[1], 36) }] : [];
    });
  }
}
