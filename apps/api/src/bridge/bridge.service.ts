import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { sha256Hex, isUuid } from '@app/common/crypto';
import { ApiError, ErrorCode } from '@app/common/errors';
import type { RequestContext } from '@app/common/http';
import { User } from '@app/database';
import { AuditService } from '../audit/audit.service';
import { RetailerAuthService, SignedIn } from '../retailer/retailer-auth.service';
import { BridgeClaims, BridgePrincipal } from './bridge-claims';

/** Claimed values copied into audit metadata are cut short: before verification they are anyone's text. */
const AUDIT_TEXT_MAX = 100;

const auditText = (value: unknown): string | undefined => (typeof value === 'string' && value ? value.slice(0, AUDIT_TEXT_MAX) : undefined);

/** The claims of a token that parses, without verifying anything (for the audit row of a refusal). */
function unverifiedClaims(token: unknown): Record<string, unknown> | undefined {
  if (typeof token !== 'string') return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return payload && typeof payload === 'object' && !Array.isArray(payload) ? payload : undefined;
  } catch {
    return undefined;
  }
}

/** Sibling services trade a bridge token for a retailer session (POST /auth/bridge). */
@Injectable()
export class BridgeService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly auth: RetailerAuthService,
    private readonly audit: AuditService,
  ) {}

  /**
   * Spends the token's jti, then loads the user it names. The jti is spent by one INSERT on the
   * unique token hash, so of any number of requests racing with one token, on any number of
   * instances sharing the database, exactly one gets the row back; every other one is a replay.
   */
  async redeem(claims: BridgeClaims): Promise<BridgePrincipal> {
    // Keyed by issuer and jti: two siblings choosing the same jti do not collide.
    const tokenHash = sha256Hex(`${claims.issuer}\n${claims.jti}`);
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `INSERT INTO one_time_tokens (purpose, token_hash, expires_at, used_at, metadata)
       VALUES ('bridge_jti', $1, to_timestamp($2::double precision), now(), $3::jsonb)
       ON CONFLICT (token_hash) DO NOTHING
       RETURNING id`,
      [tokenHash, claims.exp, JSON.stringify({ issuer: claims.issuer })],
    );
    if (rows.length === 0) throw new ApiError(ErrorCode.TOKEN_INVALID, 'This bridge token has already been used.');

    // A well-signed token whose subject is gone (or never was this retailer's) is TOKEN_REVOKED.
    const user =
      isUuid(claims.userId) && isUuid(claims.retailerId)
        ? await this.dataSource.getRepository(User).findOne({ where: { id: claims.userId }, relations: { retailer: true } })
        : null;
    if (!user || user.retailerId !== claims.retailerId || !user.retailer) throw new ApiError(ErrorCode.TOKEN_REVOKED);
    if (user.status !== 'active' || user.retailer.status !== 'active') throw new ApiError(ErrorCode.ACCOUNT_SUSPENDED);
    return { kind: 'bridge', claims, user };
  }

  /** A bridge sign-in is a sign-in like any other, minus the second factor (the sibling vouches for the user). */
  async exchange(principal: BridgePrincipal, ctx: RequestContext): Promise<SignedIn> {
    const { user, claims } = principal;
    const signedIn = await this.auth.completeSignIn(user, 'bridge', ctx);
    await this.audit.record(
      {
        event: 'bridge_exchange',
        actorType: 'user',
        actorId: user.id,
        retailerId: user.retailerId,
        status: 'success',
        metadata: { issuer: claims.issuer, jti: claims.jti, sessionId: signedIn.issued.session.id },
      },
      ctx,
    );
    return signedIn;
  }

  /**
   * The audit row of a refused bridge token, when its issuer is known: the verified claims if the
   * refusal came after verification (replay, subject gone or suspended), else what the token
   * claims (then attributed to no retailer, since anyone can write those claims). A token that
   * does not even parse gets no row.
   */
  async recordRefusal(token: unknown, verified: BridgeClaims | undefined, reason: string, ctx: RequestContext): Promise<void> {
    const claimed = verified ? undefined : unverifiedClaims(token);
    const issuer = verified?.issuer ?? auditText(claimed?.iss);
    if (!issuer) return;
    await this.audit.record(
      {
        event: 'bridge_exchange',
        actorType: 'service',
        actorId: issuer.slice(0, 64),
        retailerId: verified && isUuid(verified.retailerId) ? verified.retailerId : null,
        status: 'failure',
        reason,
        metadata: {
          issuer,
          jti: verified?.jti ?? auditText(claimed?.jti) ?? null,
          ...(verified ? { userId: auditText(verified.userId) } : {}),
          verified: Boolean(verified),
        },
      },
      ctx,
    );
  }
}
