import { hmacSha256, safeEqual } from '@app/common/crypto';
import { FlowCookie, type HttpRequest, type HttpResponse } from '@app/common/http';

export const SHOPIFY_STATE_COOKIE = 'shopify_oauth_state';
/** Sent only to the Shopify callback (and the install that sets it). */
export const SHOPIFY_STATE_COOKIE_PATH = '/api/v1/oauth/shopify';

/**
 * Binds a Shopify `state` to the browser that started the install: an HttpOnly cookie holding
 * the state and an HMAC of it under a key derived from APP_ENCRYPTION_KEY. The callback needs
 * the cookie, a valid signature and the same state as its query, so a state (or a callback
 * URL) handed to another browser is refused, and a cookie planted from a sibling domain does
 * not verify. The state itself is also stored hashed and single-use (OneTimeTokenService).
 */
export class ShopifyStateCookie {
  private readonly key: Buffer;
  private readonly cookie: FlowCookie;

  constructor(encryptionKey: Buffer, secure: boolean) {
    this.key = hmacSha256(encryptionKey, 'oauth-state-cookie/v1');
    this.cookie = new FlowCookie(SHOPIFY_STATE_COOKIE, SHOPIFY_STATE_COOKIE_PATH, secure);
  }

  private sign(state: string): string {
    return hmacSha256(this.key, `shopify:${state}`).toString('base64url');
  }

  set(res: HttpResponse, state: string, ttlMs: number): void {
    this.cookie.set(res, `${state}.${this.sign(state)}`, ttlMs);
  }

  clear(res: HttpResponse): void {
    this.cookie.clear(res);
  }

  /** True when the browser's signed cookie carries exactly this state. */
  matches(req: HttpRequest, state: string): boolean {
    const raw = this.cookie.read(req, 300);
    if (!raw) return false;
    const dot = raw.lastIndexOf('.');
    if (dot <= 0) return false;
    const cookieState = raw.slice(0, dot);
    const signatureOk = safeEqual(raw.slice(dot + 1), this.sign(cookieState));
    const stateOk = safeEqual(cookieState, state);
    return signatureOk && stateOk;
  }
}
