import { hmacSha256, sha256Hex } from '@app/common/crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface ParsedRefreshToken {
  sessionId: string;
  generation: number;
  mac: string;
}

/**
 * Opaque refresh tokens: `<session id>.<generation>.<mac>`, the mac being an HMAC under a server
 * key (derived from APP_ENCRYPTION_KEY, never stored) over the session's random nonce and the
 * generation. The database keeps only SHA-256 hashes of the current and previous token; a
 * database copy alone can neither read nor forge one. Deriving (rather than drawing) each token
 * lets the service hand the same successor to a concurrent tab inside the grace window.
 */
export class RefreshTokens {
  private readonly key: Buffer;

  constructor(encryptionKey: Buffer) {
    this.key = hmacSha256(encryptionKey, 'refresh-token-key-v1');
  }

  derive(sessionId: string, nonce: string, generation: number): string {
    const mac = hmacSha256(this.key, `${sessionId}.${generation}.${nonce}`).toString('base64url');
    return `${sessionId}.${generation}.${mac}`;
  }

  hash(token: string): string {
    return sha256Hex(token);
  }

  parse(token: unknown): ParsedRefreshToken | undefined {
    if (typeof token !== 'string' || token.length > 200) return undefined;
    const [sessionId, gen, mac, extra] = token.split('.');
    if (extra !== undefined || !sessionId || !UUID.test(sessionId) || !/^\d{1,9}$/.test(gen ?? '') || !mac) return undefined;
    return { sessionId, generation: Number(gen), mac };
  }
}
