import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { Admin } from './admin.entity';
import { Retailer } from './retailer.entity';

/**
 * An admin acting as a merchant: the token it issued (`sid` = this id, `jti`), why, until when,
 * and whether it was ended early. Every request made with it is audit-logged with this reason.
 */
@Entity({ name: 'impersonations' })
@Index('idx_impersonations_retailer', ['retailerId', 'createdAt'])
export class Impersonation {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'admin_id', type: 'uuid' })
  adminId: string;

  @ManyToOne(() => Admin, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'admin_id', foreignKeyConstraintName: 'FK_impersonations_admin' })
  admin?: Admin;

  @Column({ name: 'retailer_id', type: 'uuid' })
  retailerId: string;

  @ManyToOne(() => Retailer, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'retailer_id', foreignKeyConstraintName: 'FK_impersonations_retailer' })
  retailer?: Retailer;

  /** The retailer user whose view the admin gets (the retailer's first owner). */
  @Column({ name: 'acting_user_id', type: 'uuid' })
  actingUserId: string;

  @Column({ type: 'varchar', length: 500 })
  reason: string;

  @Column({ name: 'full_access', type: 'boolean' })
  fullAccess: boolean;

  @Column({ type: 'uuid' })
  jti: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
