import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export type AdminStatus = 'active' | 'disabled';

/**
 * A member of the platform's staff, signing in to the admin console. Separate from retailer
 * users: an admin belongs to no retailer, has no password (magic link, plus TOTP once enrolled),
 * and acts on a merchant only through an audited impersonation.
 */
@Entity({ name: 'admins' })
export class Admin {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Normalised (trimmed, lower case). */
  @Index('uq_admins_email', { unique: true })
  @Column({ type: 'varchar', length: 320 })
  email: string;

  @Column({ type: 'varchar', length: 200, default: '' })
  name: string;

  /** Without it an admin reads (and impersonates read-only); with it, an admin may act. */
  @Column({ name: 'full_access', type: 'boolean', default: false })
  fullAccess: boolean;

  @Column({ type: 'varchar', length: 20, default: 'active' })
  status: AdminStatus;

  /** The active TOTP secret, AES-256-GCM sealed with APP_ENCRYPTION_KEY. */
  @Column({ name: 'totp_secret', type: 'text', nullable: true, select: false })
  totpSecret: string | null;

  @Column({ name: 'totp_pending_secret', type: 'text', nullable: true, select: false })
  totpPendingSecret: string | null;

  @Column({ name: 'totp_enabled_at', type: 'timestamptz', nullable: true })
  totpEnabledAt: Date | null;

  /** The last accepted TOTP time step: that code or an older one is never accepted again. */
  @Column({ name: 'totp_last_step', type: 'bigint', nullable: true, select: false })
  totpLastStep: string | null;

  @Column({ name: 'last_login_at', type: 'timestamptz', nullable: true })
  lastLoginAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
