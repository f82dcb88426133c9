import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { APP_CONFIG, AppConfig, TokenType } from '@app/common/config';
import { KeyRing } from './key-ring';

export const AUDIENCE: Record<TokenType, string> = {
  retailer: 'retailer',
  // Admin tokens carry aud "retailer" so that an impersonation token passes RetailerAuthGuard.
  admin: 'retailer',
  portal: 'portal',
  bridge: 'bridge',
  reactivate: 'reactivate',
  mfa: 'mfa',
};

export interface IssuedToken {
  token: string;
  jti: string;
  /** seconds since epoch */
  iat: number;
  exp: number;
  expiresAt: string;
}

export interface SignOptions {
  ttlMs: number;
  /** Fixed iat and jti re-create a token byte for byte (HS256 is deterministic). */
  iat?: number;
  jti?: string;
}

/** Signs every token type with its own current key, `kid` in the header, the contract's claims. */
@Injectable()
export class TokenService {
  readonly keys: KeyRing;

  constructor(
    private readonly jwt: JwtService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.keys = new KeyRing(config);
  }

  sign(type: TokenType, claims: Record<string, unknown>, options: SignOptions): IssuedToken {
    const key = this.keys.signingKey(type);
    const iat = options.iat ?? Math.floor(Date.now() / 1000);
    const exp = iat + Math.max(1, Math.floor(options.ttlMs / 1000));
    const jti = options.jti ?? randomUUID();
    const payload = { ...claims, iss: this.config.jwt.issuer, aud: [AUDIENCE[type]], iat, exp, jti };
    const token = this.jwt.sign(payload, { algorithm: 'HS256', keyid: key.kid, secret: key.key as never });
    return { token, jti, iat, exp, expiresAt: new Date(exp * 1000).toISOString() };
  }
}
