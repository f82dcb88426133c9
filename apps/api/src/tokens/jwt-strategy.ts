import { TokenExpiredError, verify } from 'jsonwebtoken';
import type { StrategyOptionsWithRequest } from 'passport-jwt';
import { AppConfig, TokenType } from '@app/common/config';
import { ApiError, ErrorCode } from '@app/common/errors';
import { KeyRing, RingKey } from './key-ring';
import { extractToken } from './token-extraction';
import type { HttpRequest } from '@app/common/http';

declare module 'fastify' {
  interface FastifyRequest {
    /** Which key type verified this request's token (retailer, admin, ...). */
    tokenKeyType?: TokenType;
  }
}

const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'x5t', 'crit'];

export class TokenRejected extends Error {
  constructor(readonly code: ErrorCode.TOKEN_INVALID | ErrorCode.TOKEN_EXPIRED | ErrorCode.TOKEN_MISSING) {
    super(code);
  }
}

function decodeHeader(raw: string): Record<string, unknown> | undefined {
  const dot = raw.indexOf('.');
  if (dot <= 0) return undefined;
  try {
    const header = JSON.parse(Buffer.from(raw.slice(0, dot), 'base64url').toString('utf8'));
    return header && typeof header === 'object' && !Array.isArray(header) ? header : undefined;
  } catch {
    return undefined;
  }
}

export interface JwtStrategySpec {
  /** Key types whose kid this guard accepts (e.g. retailer, plus admin for impersonation). */
  types: readonly TokenType[];
  audience: string;
  /** The cookie this guard also reads (from the instance's config), if any. */
  cookieName?: (config: AppConfig) => string;
  /** Where the token is read instead of the Authorization header and cookie (e.g. a body field). */
  fromRequest?: (req: HttpRequest) => string | null;
  /**
   * A token without `kid` is tried against every key of the accepted types, current first, and
   * verified with the one whose signature matches (bridge tokens from siblings may omit `kid`).
   * Without this option a missing `kid` is TOKEN_INVALID.
   */
  kidOptional?: boolean;
}

/** The key, among the accepted types, whose HS256 signature verifies this token (signature only). */
function keyBySignature(keys: KeyRing, types: readonly TokenType[], rawJwt: string): RingKey | undefined {
  for (const type of types) {
    for (const candidate of keys.keysOf(type)) {
      try {
        // Dates are checked by the real verification afterwards (so an expired token says TOKEN_EXPIRED).
        verify(rawJwt, candidate.key, { algorithms: ['HS256'], ignoreExpiration: true, ignoreNotBefore: true });
        return candidate;
      } catch {
        // not this key: try the next one
      }
    }
  }
  return undefined;
}

/**
 * passport-jwt options shared by every module's strategy: HS256 only, the key picked by `kid`
 * among the accepted types only (an unknown kid, a key of another type, `jku`/`x5u`/`jwk`
 * headers are TOKEN_INVALID before any signature check), audience and issuer pinned. Only with
 * `kidOptional` may the kid be absent; the key is then the accepted one the signature matches.
 */
export function jwtStrategyOptions(keys: KeyRing, config: AppConfig, spec: JwtStrategySpec): StrategyOptionsWithRequest {
  return {
    jwtFromRequest: (req: HttpRequest) => {
      const token = spec.fromRequest ? spec.fromRequest(req) : extractToken(req, spec.cookieName ? spec.cookieName(req.authContext?.config ?? config) : '\0');
      if (token) req.presentedToken = token;
      return token;
    },
    secretOrKeyProvider: (req: HttpRequest, rawJwt: string, done: (err: unknown, key?: unknown) => void) => {
      const header = decodeHeader(rawJwt);
      if (!header || header.alg !== 'HS256' || header.typ !== undefined && header.typ !== 'JWT') return done(new TokenRejected(ErrorCode.TOKEN_INVALID));
      if (FORBIDDEN_HEADERS.some((h) => h in header)) return done(new TokenRejected(ErrorCode.TOKEN_INVALID));
      const ring = req.authContext?.tokens.keys ?? keys;
      const key = spec.kidOptional && header.kid === undefined ? keyBySignature(ring, spec.types, rawJwt) : ring.find(header.kid, spec.types);
      if (!key) return done(new TokenRejected(ErrorCode.TOKEN_INVALID));
      req.tokenKeyType = key.type;
      done(null, key.key);
    },
    algorithms: ['HS256'],
    audience: spec.audience,
    // The issuer is checked in assertCommonClaims, against the request's own instance config.
    passReqToCallback: true,
    jsonWebTokenOptions: { clockTolerance: 0 },
  } as StrategyOptionsWithRequest;
}

/**
 * The common claims every token must carry beyond what jsonwebtoken checks (it accepts a token
 * without `exp`), and the issuer of this instance.
 */
export function assertCommonClaims(payload: Record<string, unknown>, issuer: string): void {
  if (typeof payload.exp !== 'number' || typeof payload.iat !== 'number' || typeof payload.jti !== 'string' || !payload.jti || payload.iss !== issuer) {
    throw new ApiError(ErrorCode.TOKEN_INVALID);
  }
}

/** Maps what passport-jwt reports on failure to the contract's codes. */
export function tokenFailure(info: unknown): ApiError {
  if (info instanceof TokenRejected) return new ApiError(info.code);
  if (info instanceof TokenExpiredError) return new ApiError(ErrorCode.TOKEN_EXPIRED);
  if (info instanceof Error && info.message === 'No auth token') return new ApiError(ErrorCode.TOKEN_MISSING);
  return new ApiError(ErrorCode.TOKEN_INVALID);
}
