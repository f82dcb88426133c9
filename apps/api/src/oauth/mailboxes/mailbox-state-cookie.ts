import { decryptSecret, encryptSecret, isPkceVerifier, safeEqual } from '@app/common/crypto';
import { FlowCookie, type HttpRequest, type HttpResponse } from '@app/common/http';
import type { MailboxProvider } from './mailbox-provider';

export const mailboxStateCookieName = (provider: MailboxProvider) => `mailbox_oauth_${provider}`;
/** Sent only to that provider's connect and callback routes. */
export const mailboxStateCookiePath = (provider: MailboxProvider) => `/api/v1/oauth/${provider}`;

/** What the browser carries between connect and callback. */
export interface PendingLink {
  state: string;
  /** The PKCE code verifier: it never leaves this cookie until the code is redeemed. */
  verifier: string;
}

/** Why a callback's browser binding was refused (the audit row's reason). */
export type BindingRefusal = 'not_started_in_this_browser' | 'state_mismatch' | 'pkce_verifier_missing';

/**
 * Binds a mailbox link to the browser that started it. The connect response sets an HttpOnly,
 * SameSite=Lax cookie holding the state and the PKCE verifier, sealed with AES-256-GCM under
 * APP_ENCRYPTION_KEY (associated data names the provider, so a Google cookie does not open at the
 * Microsoft callback). The callback needs this cookie and the same state in its query: a callback
 * URL (code and state) carried to another browser is refused, and without the cookie there is no
 * verifier, so a stolen code cannot be redeemed either. The state is also stored hashed and
 * single-use (OneTimeTokenService); the cookie only proves which browser it was issued to.
 */
export class MailboxStateCookie {
  constructor(
    private readonly key: Buffer,
    private readonly secure: boolean,
  ) {}

  private aad(provider: MailboxProvider): string {
    return `mailbox-oauth-cookie/v1:${provider}`;
  }

  /** The cookie's value (exported for tests that forge a damaged one with the test key). */
  seal(provider: MailboxProvider, pending: { state: string; verifier?: string }): string {
    return encryptSecret(this.key, JSON.stringify({ s: pending.state, v: pending.verifier }), this.aad(provider));
  }

  private cookie(provider: MailboxProvider): FlowCookie {
    return new FlowCookie(mailboxStateCookieName(provider), mailboxStateCookiePath(provider), this.secure);
  }

  set(res: HttpResponse, provider: MailboxProvider, pending: PendingLink, ttlMs: number): void {
    this.cookie(provider).set(res, this.seal(provider, pending), ttlMs);
  }

  clear(res: HttpResponse, provider: MailboxProvider): void {
    this.cookie(provider).clear(res);
  }

  /**
   * The verifier of the link this browser started with exactly `state`, or why there is none:
   * no (or an unreadable) cookie, a cookie for another state, or a cookie without a verifier.
   */
  read(req: HttpRequest, provider: MailboxProvider, state: string): { ok: true; verifier: string } | { ok: false; reason: BindingRefusal } {
    const raw = this.cookie(provider).read(req, 1000);
    if (!raw) return { ok: false, reason: 'not_started_in_this_browser' };
    let parsed: { s?: unknown; v?: unknown };
    try {
      parsed = JSON.parse(decryptSecret(this.key, raw, this.aad(provider))) as { s?: unknown; v?: unknown };
    } catch {
      return { ok: false, reason: 'not_started_in_this_browser' };
    }
    if (typeof parsed.s !== 'string' || !safeEqual(parsed.s, state)) return { ok: false, reason: 'state_mismatch' };
    if (!isPkceVerifier(parsed.v)) return { ok: false, reason: 'pkce_verifier_missing' };
    return { ok: true, verifier: parsed.v };
  }
}
