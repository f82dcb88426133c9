import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { Retailer } from './retailer.entity';

export type ApiKeyType = 'reporting' | 'reactivate';

/** A retailer's key for the reporting or Reactivate APIs; the secret itself is never stored. */
@Entity({ name: 'api_keys' })
export class ApiKey {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index('idx_api_keys_retailer')
  @Column({ name: 'retailer_id', type: 'uuid' })
  retailerId: string;

  @ManyToOne(() => Retailer, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'retailer_id', foreignKeyConstraintName: 'FK_api_keys_retailer' })
  retailer?: Retailer;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'varchar', length: 20 })
  type: ApiKeyType;

  /** The public, non-secret identifier part of the key; the lookup index. */
  @Index('uq_api_keys_prefix', { unique: true })
  @Column({ type: 'varchar', length: 64 })
  prefix: string;

  /** SHA-256 of the secret part (high-entropy random, so a fast hash is the right one). */
  @Column({ name: 'key_hash', type: 'varchar', length: 128 })
  keyHash: string;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  scopes: string[];

  @Column({ name: 'allowed_ips', type: 'text', array: true, default: () => "'{}'" })
  allowedIps: string[];

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  /** Set on the old key of a rotation: it keeps working until graceUntil. */
  @Column({ name: 'replaced_by_id', type: 'uuid', nullable: true })
  replacedById: string | null;

  @Column({ name: 'grace_until', type: 'timestamptz', nullable: true })
  graceUntil: Date | null;

  @Column({ name: 'created_by_user_id', type: 'uuid', nullable: true })
  createdByUserId: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
