import { createSecretKey, KeyObject } from 'node:crypto';
import { AppConfig, TokenType } from '@app/common/config';

export interface RingKey {
  type: TokenType;
  kid: string;
  key: KeyObject;
  current: boolean;
}

/**
 * Every signing key of the service as a KeyObject (jsonwebtoken verifies about 50x faster with
 * a KeyObject than with a string secret, which it would rebuild on every call), indexed by kid.
 * Current keys sign; previous keys (`<TYPE>_JWT_PREVIOUS_KEYS`) only verify.
 */
export class KeyRing {
  private readonly byKid = new Map<string, RingKey>();
  private readonly signing = new Map<TokenType, RingKey>();
  private readonly byType = new Map<TokenType, RingKey[]>();

  constructor(config: AppConfig) {
    for (const [type, set] of Object.entries(config.jwt.keys) as Array<[TokenType, AppConfig['jwt']['keys'][TokenType]]>) {
      const entries: RingKey[] = [
        { type, kid: set.current.kid, key: createSecretKey(set.current.secret), current: true },
        ...set.previous.map((k) => ({ type, kid: k.kid, key: createSecretKey(k.secret), current: false })),
      ];
      this.signing.set(type, entries[0]);
      this.byType.set(type, entries);
      for (const entry of entries) if (!this.byKid.has(entry.kid)) this.byKid.set(entry.kid, entry);
    }
  }

  signingKey(type: TokenType): RingKey {
    return this.signing.get(type)!;
  }

  /** The verification key for a kid, only if it belongs to one of the accepted types. */
  find(kid: unknown, types: readonly TokenType[]): RingKey | undefined {
    if (typeof kid !== 'string') return undefined;
    const entry = this.byKid.get(kid);
    return entry && types.includes(entry.type) ? entry : undefined;
  }

  keysOf(type: TokenType): RingKey[] {
    return this.byType.get(type) ?? [];
  }
}
