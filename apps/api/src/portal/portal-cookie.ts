import type { AppConfig } from '@app/common/config';
import { PORTAL_ACCESS_COOKIE } from '../tokens/cookie-names';
import type { IssuedToken } from '../tokens/token.service';
import { setCookie, type CookieOptions, type HttpResponse } from '@app/common/http';

function portalCookieOptions(config: AppConfig): CookieOptions {
  return { httpOnly: true, sameSite: 'lax', secure: config.http.cookieSecure, path: '/' };
}

/** The portal token as an HttpOnly, SameSite=Lax cookie that lives exactly as long as the token. */
export function setPortalCookie(res: HttpResponse, config: AppConfig, issued: IssuedToken): void {
  setCookie(res, PORTAL_ACCESS_COOKIE, issued.token, { ...portalCookieOptions(config), maxAge: Math.max(0, issued.exp * 1000 - Date.now()) });
}
