import type { HttpRequest } from '@app/common/http';

export type TokenSource = 'bearer' | 'cookie';

declare module 'fastify' {
  interface FastifyRequest {
    /** Where the credential of this request came from (CSRF applies to cookies only). */
    authSource?: TokenSource;
  }
}

/** The Bearer token of the Authorization header, if any. */
export function bearerToken(req: HttpRequest): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+([^\s]+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * A guard's token: `Authorization: Bearer` wins over the cookie when both are sent; never the
 * query string (tokens in URLs end up in logs, history and Referer headers).
 */
export function extractToken(req: HttpRequest, cookieName: string): string | null {
  const bearer = bearerToken(req);
  if (bearer) {
    req.authSource = 'bearer';
    return bearer;
  }
  const cookie = (req.cookies as Record<string, string> | undefined)?.[cookieName];
  if (typeof cookie === 'string' && cookie.length > 0) {
    req.authSource = 'cookie';
    return cookie;
  }
  return null;
}
