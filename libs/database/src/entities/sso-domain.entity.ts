import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Retailer } from './retailer.entity';

/**
 * A retailer's claim to an email domain whose people may be created as its members on their first
 * SSO sign-in (just-in-time provisioning), stored lowercased; public webmail domains are refused
 * where the setting is written. A claim is pending until the retailer publishes its token in a DNS
 * TXT record and asks for the check (docs/sso.md): several retailers may hold pending claims to one
 * domain, one at most a verified claim (the partial unique index), and only verified claims provision.
 */
@Entity({ name: 'sso_domains' })
@Index('uq_sso_domains_verified', ['domain'], { unique: true, where: 'verified_at IS NOT NULL' })
export class SsoDomain {
  // First in the key: the retailer's own list is read and replaced by retailer.
  @PrimaryColumn({ name: 'retailer_id', type: 'uuid' })
  retailerId: string;

  @PrimaryColumn({ type: 'varchar', length: 253 })
  domain: string;

  @ManyToOne(() => Retailer, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'retailer_id', foreignKeyConstraintName: 'FK_sso_domains_retailer' })
  retailer?: Retailer;

  /** The role a provisioned member gets: a predefined role or a custom role of the retailer, by name. */
  @Column({ name: 'jit_role', type: 'varchar', length: 64, default: 'viewer' })
  jitRole: string;

  /** What the TXT record at `_retail-auth.<domain>` must say; drawn anew each time the domain is listed. */
  @Column({ name: 'verification_token', type: 'varchar' })
  verificationToken: string;

  /** When the TXT record was found; null while the claim is pending. */
  @Column({ name: 'verified_at', type: 'timestamptz', nullable: true })
  verifiedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
