import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * A provider webhook already handled, by the provider's own delivery id (Shopify's
 * `X-Shopify-Webhook-Id`): inserted in the transaction of its effect, so a redelivery (Shopify
 * retries, or a replayed request) is acknowledged without being processed twice.
 */
@Entity({ name: 'oauth_webhook_events' })
export class OAuthWebhookEvent {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  provider: string;

  @PrimaryColumn({ name: 'event_id', type: 'varchar', length: 200 })
  eventId: string;

  @Column({ type: 'varchar', length: 100 })
  topic: string;

  @Column({ name: 'external_id', type: 'varchar', length: 500, nullable: true })
  externalId: string | null;

  @CreateDateColumn({ name: 'received_at', type: 'timestamptz' })
  receivedAt: Date;
}
