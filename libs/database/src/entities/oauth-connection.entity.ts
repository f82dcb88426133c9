import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { Retailer } from './retailer.entity';
import { User } from './user.entity';

/**
 * The platforms and providers a retailer can connect. Stores today; the mailbox providers
 * (`microsoft`, `google`) of a later issue fit the same row: an account id, scopes and tokens.
 */
export type OAuthProvider = 'shopify' | 'bigcommerce' | 'woocommerce' | 'microsoft' | 'google';
export type OAuthConnectionStatus = 'active' | 'revoked';

/**
 * A retailer's link to an account at a provider (a Shopify shop, a BigCommerce store, a
 * WooCommerce site, later a mailbox). Tokens are AES-256-GCM sealed with APP_ENCRYPTION_KEY,
 * bound to `provider:externalId` as associated data, never selected unless asked for, and
 * never returned by a route. An account belongs to one retailer at a time (unique index).
 */
@Entity({ name: 'oauth_connections' })
@Index('uq_oauth_connections_provider_account', ['provider', 'externalId'], { unique: true })
export class OAuthConnection {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index('idx_oauth_connections_retailer')
  @Column({ name: 'retailer_id', type: 'uuid' })
  retailerId: string;

  @ManyToOne(() => Retailer, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'retailer_id', foreignKeyConstraintName: 'FK_oauth_connections_retailer' })
  retailer?: Retailer;

  /** The user who connected it (or the owner an install created); null once that user is gone. */
  @Column({ name: 'user_id', type: 'uuid', nullable: true })
  userId: string | null;

  @ManyToOne(() => User, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_oauth_connections_user' })
  user?: User;

  @Column({ type: 'varchar', length: 32 })
  provider: OAuthProvider;

  /** The account at the provider: shop hostname, `stores/{hash}`, store URL, mailbox id. */
  @Column({ name: 'external_id', type: 'varchar', length: 500 })
  externalId: string;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  scopes: string[];

  @Column({ type: 'varchar', length: 20, default: 'active' })
  status: OAuthConnectionStatus;

  /** Sealed access token (or, for WooCommerce, the sealed consumer key and secret); null once revoked. */
  @Column({ name: 'access_token', type: 'text', nullable: true, select: false })
  accessToken: string | null;

  /** Sealed refresh token, for providers that issue one (mailboxes). */
  @Column({ name: 'refresh_token', type: 'text', nullable: true, select: false })
  refreshToken: string | null;

  /**
   * Sealed MSAL token cache of a Microsoft mailbox (serialised by MSAL's cache plugin), so a
   * later send acquires tokens silently; null for other providers.
   */
  @Column({ name: 'token_cache', type: 'text', nullable: true, select: false })
  tokenCache: string | null;

  @Column({ name: 'token_expires_at', type: 'timestamptz', nullable: true })
  tokenExpiresAt: Date | null;

  /** Non-secret details from the provider (the installing user's id, a WooCommerce key id...). */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  metadata: Record<string, unknown>;

  @Column({ name: 'connected_at', type: 'timestamptz' })
  connectedAt: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
