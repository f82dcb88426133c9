import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Retailer } from './retailer.entity';

/**
 * An email domain whose people may be created as members of a retailer on their first SSO
 * sign-in (just-in-time provisioning). A domain belongs to one retailer at most (primary key),
 * stored lowercased; public webmail domains are refused where the setting is written.
 */
@Entity({ name: 'sso_domains' })
export class SsoDomain {
  @PrimaryColumn({ type: 'varchar', length: 253 })
  domain: string;

  @Index('idx_sso_domains_retailer')
  @Column({ name: 'retailer_id', type: 'uuid' })
  retailerId: string;

  @ManyToOne(() => Retailer, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'retailer_id', foreignKeyConstraintName: 'FK_sso_domains_retailer' })
  retailer?: Retailer;

  /** The role a provisioned member gets: a predefined role or a custom role of the retailer, by name. */
  @Column({ name: 'jit_role', type: 'varchar', length: 64, default: 'viewer' })
  jitRole: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
