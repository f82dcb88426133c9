import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, IsNull } from 'typeorm';
import { randomToken, sha256Hex } from '@app/common/crypto';
import { ApiError, ErrorCode } from '@app/common/errors';
import { OneTimeToken, OneTimeTokenPurpose } from '@app/database';

export interface IssueOptions {
  ttlMs: number;
  userId?: string | null;
  retailerId?: string | null;
  email?: string | null;
  metadata?: Record<string, unknown>;
}

/**
 * Single-use secrets (reset links, magic links, invites, codes). The raw token goes to its
 * owner once; only its SHA-256 is stored; consuming is one conditional UPDATE, so a token is
 * accepted exactly once however many requests race for it.
 */
@Injectable()
export class OneTimeTokenService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async issue(purpose: OneTimeTokenPurpose, options: IssueOptions, manager?: EntityManager, raw = randomToken(32)): Promise<string> {
    const repo = (manager ?? this.dataSource.manager).getRepository(OneTimeToken);
    await repo.insert({
      purpose,
      tokenHash: sha256Hex(raw),
      userId: options.userId ?? null,
      retailerId: options.retailerId ?? null,
      email: options.email ?? null,
      expiresAt: new Date(Date.now() + options.ttlMs),
      usedAt: null,
      metadata: (options.metadata ?? {}) as never,
    });
    return raw;
  }

  /**
   * Marks the token used and returns it; unknown or already used → TOKEN_INVALID; expired →
   * TOKEN_EXPIRED when `revealExpiry` (reset links may say so), else TOKEN_INVALID.
   */
  async consume(purpose: OneTimeTokenPurpose, raw: unknown, options: { revealExpiry?: boolean; manager?: EntityManager } = {}): Promise<OneTimeToken> {
    if (typeof raw !== 'string' || raw.length === 0 || raw.length > 200) throw new ApiError(ErrorCode.TOKEN_INVALID);
    const hash = sha256Hex(raw);
    const manager = options.manager ?? this.dataSource.manager;
    const result = await manager
      .getRepository(OneTimeToken)
      .createQueryBuilder()
      .update()
      .set({ usedAt: () => 'now()' })
      .where('token_hash = :hash AND purpose = :purpose AND used_at IS NULL AND expires_at > now()', { hash, purpose })
      .returning('*')
      .execute();
    const row = (result.raw as Array<Record<string, unknown>>)[0];
    if (row) return manager.getRepository(OneTimeToken).create(this.fromRaw(row));
    if (options.revealExpiry) {
      const expired = await manager.getRepository(OneTimeToken).findOneBy({ tokenHash: hash, purpose, usedAt: IsNull() });
      if (expired) throw new ApiError(ErrorCode.TOKEN_EXPIRED, 'The link has expired.');
    }
    throw new ApiError(ErrorCode.TOKEN_INVALID, 'The link is invalid or has already been used.');
  }

  /** Looks a live token up without consuming it (e.g. to check a new password before burning the link). */
  async peek(purpose: OneTimeTokenPurpose, raw: unknown): Promise<OneTimeToken | null> {
    if (typeof raw !== 'string' || raw.length === 0 || raw.length > 200) return null;
    return this.dataSource.getRepository(OneTimeToken).findOneBy({ tokenHash: sha256Hex(raw), purpose, usedAt: IsNull() });
  }

  /** Retires every outstanding token of a purpose for a user (e.g. other reset links after a reset). */
  async retireAll(purpose: OneTimeTokenPurpose, userId: string, manager?: EntityManager): Promise<void> {
    await (manager ?? this.dataSource.manager)
      .getRepository(OneTimeToken)
      .createQueryBuilder()
      .update()
      .set({ usedAt: () => 'now()' })
      .where('user_id = :userId AND purpose = :purpose AND used_at IS NULL', { userId, purpose })
      .execute();
  }

  private fromRaw(row: Record<string, unknown>): Partial<OneTimeToken> {
    return {
      id: row.id as string,
      purpose: row.purpose as OneTimeTokenPurpose,
      tokenHash: row.token_hash as string,
      userId: (row.user_id as string | null) ?? null,
      retailerId: (row.retailer_id as string | null) ?? null,
      email: (row.email as string | null) ?? null,
      expiresAt: new Date(row.expires_at as string),
      usedAt: new Date(row.used_at as string),
      metadata: (row.metadata as Record<string, unknown>) ?? {},
    };
  }
}
