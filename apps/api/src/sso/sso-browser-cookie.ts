import { randomToken, safeEqual, sha256Hex } from '@app/common/crypto';
import { FlowCookie, type HttpRequest, type HttpResponse } from '@app/common/http';

export const SSO_BROWSER_COOKIE = 'sso_browser';

/** Sent only to the callback of the provider the sign-in started with. */
export function ssoCallbackPath(provider: string): string {
  return `/api/v1/auth/sso/${provider}/callback`;
}

/**
 * Binds an SSO `state` to the browser that started the sign-in: a random secret in an HttpOnly
 * cookie (SameSite=Lax, so it rides along the provider's top-level redirect back, and Path set to
 * the callback so no other route ever sees it), whose SHA-256 is stored in the state's row. A
 * callback URL (state and code) carried to another browser lacks the cookie and is refused, which
 * is what stops login CSRF: an attacker cannot sign a victim into the attacker's account.
 *
 * One cookie per browser and provider: starting a second sign-in with the same provider in
 * another tab replaces it, and the first tab's callback is then refused (start again).
 */
export class SsoBrowserCookie {
  constructor(private readonly secure: boolean) {}

  private cookie(provider: string): FlowCookie {
    return new FlowCookie(SSO_BROWSER_COOKIE, ssoCallbackPath(provider), this.secure);
  }

  /** Sets a new binding cookie and returns the hash to store with the state. */
  bind(res: HttpResponse, provider: string, ttlMs: number): string {
    const secret = randomToken(32);
    this.cookie(provider).set(res, secret, ttlMs);
    return sha256Hex(secret);
  }

  clear(res: HttpResponse, provider: string): void {
    this.cookie(provider).clear(res);
  }

  /** True when this request carries the cookie whose hash the state row holds (constant time). */
  matches(req: HttpRequest, provider: string, storedHash: unknown): boolean {
    const raw = this.cookie(provider).read(req, 200);
    return raw !== undefined && typeof storedHash === 'string' && safeEqual(sha256Hex(raw), storedHash);
  }
}
