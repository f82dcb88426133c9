import { randomToken, safeEqual } from '@app/common/crypto';
import { ApiError, ErrorCode } from '@app/common/errors';
import { setCookie, UNSAFE_METHODS, type HttpRequest, type HttpResponse } from '@app/common/http';

export const CSRF_COOKIE = 'csrf_token';
export const CSRF_HEADER = 'x-csrf-token';

/**
 * Double-submit CSRF check: a cookie-authenticated unsafe request must echo the non-HttpOnly
 * `csrf_token` cookie in `X-CSRF-Token`. A cross-site page can make the browser send the
 * cookies but cannot read them to set the header. Bearer requests are exempt.
 */
export function assertCsrf(req: HttpRequest): void {
  if (req.authSource !== 'cookie' || !UNSAFE_METHODS.has(req.method)) return;
  const cookie = (req.cookies as Record<string, string> | undefined)?.[CSRF_COOKIE];
  const header = req.headers[CSRF_HEADER];
  if (typeof cookie !== 'string' || !cookie || typeof header !== 'string' || !safeEqual(cookie, header)) {
    throw new ApiError(ErrorCode.CSRF_FAILED);
  }
}

export function issueCsrfCookie(res: HttpResponse, secure: boolean, maxAgeMs: number): string {
  const token = randomToken(24);
  setCookie(res, CSRF_COOKIE, token, { httpOnly: false, sameSite: 'lax', secure, path: '/', maxAge: maxAgeMs });
  return token;
}
