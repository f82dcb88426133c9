import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/** A single token revoked before its `exp` (by `jti`); kept until that `exp` has passed. */
@Entity({ name: 'revoked_tokens' })
export class RevokedToken {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  jti: string;

  @Index('idx_revoked_tokens_expires')
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ type: 'varchar', length: 40 })
  reason: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
