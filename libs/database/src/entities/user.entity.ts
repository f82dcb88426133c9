import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { Retailer } from './retailer.entity';

export type UserStatus = 'active' | 'suspended';

/** A person who signs in to a retailer's dashboard (its owner or a team member). */
@Entity({ name: 'users' })
export class User {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index('idx_users_retailer')
  @Column({ name: 'retailer_id', type: 'uuid' })
  retailerId: string;

  @ManyToOne(() => Retailer, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'retailer_id', foreignKeyConstraintName: 'FK_users_retailer' })
  retailer?: Retailer;

  /** Stored trimmed and lower-cased, so the unique index compares emails case-insensitively. */
  @Index('uq_users_email', { unique: true })
  @Column({ type: 'varchar', length: 320 })
  email: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  /** bcrypt ($2a$/$2b$), null for users who only sign in through SSO or links. */
  @Column({ name: 'password_hash', type: 'varchar', length: 100, nullable: true })
  passwordHash: string | null;

  /** A predefined role (owner, admin, analyst, viewer) or a custom role of the retailer, by name. */
  @Column({ type: 'varchar', length: 64, default: 'owner' })
  role: string;

  /**
   * When `role` (or the permissions of its custom role) last changed: instances reload the
   * recent changes from here at start so a changed role applies to tokens issued before it.
   */
  @Column({ name: 'role_changed_at', type: 'timestamptz', nullable: true })
  roleChangedAt: Date | null;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  dashboards: string[];

  @Column({ type: 'varchar', length: 20, default: 'active' })
  status: UserStatus;

  @Column({ name: 'email_verified_at', type: 'timestamptz', nullable: true })
  emailVerifiedAt: Date | null;

  @Column({ name: 'last_login_at', type: 'timestamptz', nullable: true })
  lastLoginAt: Date | null;

  @Column({ name: 'password_changed_at', type: 'timestamptz', nullable: true })
  passwordChangedAt: Date | null;

  /** The active TOTP secret, AES-256-GCM sealed with APP_ENCRYPTION_KEY. */
  @Column({ name: 'totp_secret', type: 'text', nullable: true, select: false })
  totpSecret: string | null;

  /** A secret from /auth/mfa/totp/setup, waiting for its first code to become active. */
  @Column({ name: 'totp_pending_secret', type: 'text', nullable: true, select: false })
  totpPendingSecret: string | null;

  @Column({ name: 'totp_enabled_at', type: 'timestamptz', nullable: true })
  totpEnabledAt: Date | null;

  /** The last accepted TOTP time step: a code of this step or an older one is never accepted again. */
  @Column({ name: 'totp_last_step', type: 'bigint', nullable: true, select: false })
  totpLastStep: string | null;

  @Column({ name: 'email_otp_enabled_at', type: 'timestamptz', nullable: true })
  emailOtpEnabledAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
