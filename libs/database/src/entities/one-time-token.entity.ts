import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type OneTimeTokenPurpose = 'password_reset' | 'magic_link' | 'invite' | 'email_otp' | 'portal_code' | 'oauth_state' | 'sso_state' | 'admin_magic_link' | 'admin_mfa' | 'bridge_jti' | 'woo_nonce';

/**
 * Reset links, magic links, invites and other single-use secrets. Only the SHA-256 of the
 * token is stored; consuming is one conditional UPDATE, so a token works exactly once even
 * when two requests race.
 */
@Entity({ name: 'one_time_tokens' })
export class OneTimeToken {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 30 })
  purpose: OneTimeTokenPurpose;

  @Index('uq_one_time_tokens_hash', { unique: true })
  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash: string;

  @Index('idx_one_time_tokens_user')
  @Column({ name: 'user_id', type: 'uuid', nullable: true })
  userId: string | null;

  @Column({ name: 'retailer_id', type: 'uuid', nullable: true })
  retailerId: string | null;

  @Column({ type: 'varchar', length: 320, nullable: true })
  email: string | null;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt: Date | null;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  metadata: Record<string, unknown>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
