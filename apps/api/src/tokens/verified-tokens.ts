import type { TokenType } from '@app/common/config';
import type { HttpRequest } from '@app/common/http';

declare module 'fastify' {
  interface FastifyRequest {
    /** The raw token a JWT strategy read from this request. */
    presentedToken?: string;
    /** Its claims, once passport-jwt verified signature, algorithm, audience and dates. */
    verifiedPayload?: Record<string, unknown>;
  }
}

interface VerifiedToken {
  payload: Record<string, unknown>;
  keyType: TokenType;
  /** seconds since epoch */
  exp: number;
}

/** What a strategy needs to judge a token it has verified before: where it reads it, its checks. */
export interface VerifiedPath {
  extract(req: HttpRequest): string | null;
  validate(req: HttpRequest, payload: Record<string, unknown>): unknown;
}

const MAX_ENTRIES = 10_000;

/**
 * Tokens this instance's strategies have already verified, by their exact text (signature
 * included), until their `exp`. A dashboard sends the same access token with every request; the
 * signature, algorithm, audience and date checks of passport-jwt (and passport's own machinery)
 * are then done once per token instead of once per request. Everything that can change between
 * two requests still runs every time: the strategy's `validate` (claims, revocation, role
 * changes, CSRF, the impersonation lookup). An entry is never found past its `exp` (the request
 * then goes through passport-jwt and answers TOKEN_EXPIRED), and the cache dies with the
 * instance, so a key removed from the ring at a restart leaves nothing behind.
 *
 * Bounded (10,000 tokens, oldest dropped first): about 10 MB at worst.
 */
export class VerifiedTokenCache {
  /** One map per strategy, keyed by the token itself (no key string built per request). */
  private readonly byStrategy = new Map<string, Map<string, VerifiedToken>>();
  private size = 0;

  get(strategy: string, token: string): VerifiedToken | undefined {
    const entries = this.byStrategy.get(strategy);
    const entry = entries?.get(token);
    if (!entry) return undefined;
    // jsonwebtoken's rule (clockTolerance 0): expired once now >= exp.
    if (Math.floor(Date.now() / 1000) >= entry.exp) {
      entries!.delete(token);
      this.size--;
      return undefined;
    }
    return entry;
  }

  set(strategy: string, token: string, payload: Record<string, unknown>, keyType: TokenType | undefined): void {
    if (typeof payload.exp !== 'number' || !keyType) return;
    let entries = this.byStrategy.get(strategy);
    if (!entries) this.byStrategy.set(strategy, (entries = new Map()));
    if (entries.has(token)) return;
    if (this.size >= MAX_ENTRIES) this.evictOldest();
    entries.set(token, { payload, keyType, exp: payload.exp });
    this.size++;
  }

  private evictOldest(): void {
    for (const entries of this.byStrategy.values()) {
      const oldest = entries.keys().next().value;
      if (oldest !== undefined) {
        entries.delete(oldest);
        this.size--;
        return;
      }
    }
  }
}

/** Strategies whose verified tokens may be reused, by passport name (like passport's own registry). */
const PATHS = new Map<string, VerifiedPath>();

export function verifiedPathOf(strategy: string): VerifiedPath | undefined {
  return PATHS.get(strategy);
}

/**
 * Called by a strategy's constructor: lets its guard judge a token this instance verified before
 * without running passport again. `validate` is wrapped so the payload passport-jwt verified is
 * kept on the request for the guard to remember.
 */
export function enableVerifiedTokenReuse(
  name: string,
  strategy: { validate(req: HttpRequest, payload: Record<string, unknown>): unknown },
  extract: (req: HttpRequest) => string | null,
): void {
  const validate = strategy.validate.bind(strategy);
  strategy.validate = (req: HttpRequest, payload: Record<string, unknown>) => {
    req.verifiedPayload = payload;
    return validate(req, payload);
  };
  PATHS.set(name, { extract, validate });
}
