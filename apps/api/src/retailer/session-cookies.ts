import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { User } from '@app/database';
import { IssuedSession } from '../sessions/session.service';
import { publicUser } from './retailer-views';
import { CSRF_COOKIE, issueCsrfCookie } from '../tokens/csrf';
import { clearCookie, setCookie, type CookieOptions, type HttpResponse } from '@app/common/http';

export const REFRESH_COOKIE = 'retailer_refresh_token';
export const REFRESH_COOKIE_PATH = '/api/v1/auth';

/** The retailer session cookies: HttpOnly access and refresh tokens, and the CSRF double-submit cookie. */
@Injectable()
export class SessionCookies {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  private base(): CookieOptions {
    return { httpOnly: true, sameSite: 'lax', secure: this.config.http.cookieSecure };
  }

  set(res: HttpResponse, issued: IssuedSession): void {
    const refreshMs = Math.max(0, new Date(issued.refreshExpiresAt).getTime() - Date.now());
    setCookie(res, this.config.http.retailerAccessCookieName, issued.access.token, { ...this.base(), path: '/', maxAge: Math.max(0, issued.access.exp * 1000 - Date.now()) });
    setCookie(res, REFRESH_COOKIE, issued.refreshToken, { ...this.base(), path: REFRESH_COOKIE_PATH, maxAge: refreshMs });
    issueCsrfCookie(res, this.config.http.cookieSecure, refreshMs);
  }

  /** Sets the cookies of a new sign-in and returns the contract's login body. */
  signedIn(res: HttpResponse, { issued, user }: { issued: IssuedSession; user: User }) {
    this.set(res, issued);
    return {
      token: issued.access.token,
      expiresAt: issued.access.expiresAt,
      refreshToken: issued.refreshToken,
      refreshExpiresAt: issued.refreshExpiresAt,
      user: publicUser(user),
    };
  }

  clear(res: HttpResponse): void {
    clearCookie(res, this.config.http.retailerAccessCookieName, { ...this.base(), path: '/' });
    clearCookie(res, REFRESH_COOKIE, { ...this.base(), path: REFRESH_COOKIE_PATH });
    clearCookie(res, CSRF_COOKIE, { sameSite: 'lax', secure: this.config.http.cookieSecure, path: '/' });
  }
}
