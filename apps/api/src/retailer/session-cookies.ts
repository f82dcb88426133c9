import { Inject, Injectable } from '@nestjs/common';
import type { CookieOptions, Response } from 'express';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { User } from '@app/database';
import { IssuedSession } from '../sessions/session.service';
import { publicUser } from './retailer-views';
import { CSRF_COOKIE, issueCsrfCookie } from '../tokens/csrf';

export const REFRESH_COOKIE = 'retailer_refresh_token';
export const REFRESH_COOKIE_PATH = '/api/v1/auth';

/** The retailer session cookies: HttpOnly access and refresh tokens, and the CSRF double-submit cookie. */
@Injectable()
export class SessionCookies {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  private base(): CookieOptions {
    return { httpOnly: true, sameSite: 'lax', secure: this.config.http.cookieSecure };
  }

  set(res: Response, issued: IssuedSession): void {
    const refreshMs = Math.max(0, new Date(issued.refreshExpiresAt).getTime() - Date.now());
    res.cookie(this.config.http.retailerAccessCookieName, issued.access.token, { ...this.base(), path: '/', maxAge: Math.max(0, issued.access.exp * 1000 - Date.now()) });
    res.cookie(REFRESH_COOKIE, issued.refreshToken, { ...this.base(), path: REFRESH_COOKIE_PATH, maxAge: refreshMs });
    issueCsrfCookie(res, this.config.http.cookieSecure, refreshMs);
  }

  /** Sets the cookies of a new sign-in and returns the contract's login body. */
  signedIn(res: Response, { issued, user }: { issued: IssuedSession; user: User }) {
    this.set(res, issued);
    return {
      token: issued.access.token,
      expiresAt: issued.access.expiresAt,
      refreshToken: issued.refreshToken,
      refreshExpiresAt: issued.refreshExpiresAt,
      user: publicUser(user),
    };
  }

  clear(res: Response): void {
    res.clearCookie(this.config.http.retailerAccessCookieName, { ...this.base(), path: '/' });
    res.clearCookie(REFRESH_COOKIE, { ...this.base(), path: REFRESH_COOKIE_PATH });
    res.clearCookie(CSRF_COOKIE, { sameSite: 'lax', secure: this.config.http.cookieSecure, path: '/' });
  }
}
