import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { User } from './user.entity';

export type SessionAuthMethod = 'password' | 'mfa' | 'magic_link' | 'bridge' | 'sso' | 'invite' | 'oauth';

/**
 * A signed-in device of a retailer user: the refresh-token chain and what access tokens carry as
 * `sid`. Refresh tokens are never stored: only SHA-256 hashes of the current and the previous one.
 * `generation` is the compare-and-swap counter of rotation (two refreshes racing on two
 * instances cannot both move it).
 */
@Entity({ name: 'sessions' })
@Index('idx_sessions_user_live', ['userId', 'createdAt'], { where: 'revoked_at IS NULL' })
export class Session {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_sessions_user' })
  user?: User;

  @Index('idx_sessions_retailer')
  @Column({ name: 'retailer_id', type: 'uuid' })
  retailerId: string;

  /** Random per session; with a server key it derives each generation's refresh token. */
  @Column({ type: 'varchar', length: 64 })
  nonce: string;

  @Column({ type: 'integer', default: 0 })
  generation: number;

  @Column({ name: 'current_hash', type: 'varchar', length: 64 })
  currentHash: string;

  @Column({ name: 'previous_hash', type: 'varchar', length: 64, nullable: true })
  previousHash: string | null;

  /** When `previous_hash` stopped being current: the start of the reuse grace window. */
  @Column({ name: 'rotated_at', type: 'timestamptz', nullable: true })
  rotatedAt: Date | null;

  /** jti and iat of the access token issued with the current refresh token (to re-issue it in grace). */
  @Column({ name: 'access_jti', type: 'uuid' })
  accessJti: string;

  /** Epoch seconds (bigint: past 2038). */
  @Column({ name: 'access_issued_at', type: 'bigint', transformer: { to: (v: number) => v, from: (v: string | null) => (v === null ? v : Number(v)) } })
  accessIssuedAt: number;

  @Column({ name: 'auth_method', type: 'varchar', length: 20 })
  authMethod: SessionAuthMethod;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  @Column({ type: 'varchar', length: 200, nullable: true })
  device: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'last_seen_at', type: 'timestamptz' })
  lastSeenAt: Date;

  @Column({ name: 'refresh_expires_at', type: 'timestamptz' })
  refreshExpiresAt: Date;

  @Index('idx_sessions_revoked_at')
  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  @Column({ name: 'revoke_reason', type: 'varchar', length: 40, nullable: true })
  revokeReason: string | null;
}
