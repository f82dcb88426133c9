import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export type RetailerStatus = 'active' | 'suspended';

/** A merchant: the tenant every user, key, role and audit row belongs to. */
@Entity({ name: 'retailers' })
export class Retailer {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'varchar', length: 20, default: 'active' })
  status: RetailerStatus;

  @Column({ name: 'suspended_at', type: 'timestamptz', nullable: true })
  suspendedAt: Date | null;

  @Column({ name: 'ip_allowlist_enabled', type: 'boolean', default: false })
  ipAllowlistEnabled: boolean;

  /** IPv4/IPv6 CIDRs, normalised; applies to every token and key of the retailer when enabled. */
  @Column({ name: 'ip_allowlist', type: 'text', array: true, default: () => "'{}'" })
  ipAllowlist: string[];

  /**
   * SSO sign-ins skip this service's own second factor when true: the retailer trusts its
   * identity provider's MFA. Off by default, so members with MFA still get the challenge.
   */
  @Column({ name: 'sso_trust_provider_mfa', type: 'boolean', default: false })
  ssoTrustProviderMfa: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
