import { Module } from '@nestjs/common';
import { RetailerModule } from '../retailer/retailer.module';
import { BigCommerceController } from './bigcommerce/bigcommerce.controller';
import { BigCommerceService } from './bigcommerce/bigcommerce.service';
import { ConnectionsController } from './connections/connections.controller';
import { ConnectionsService } from './connections/connections.service';
import { OAuthConnectionRepository } from './connections/oauth-connection.repository';
import { StoreAccountsService } from './connections/store-accounts.service';
import { GoogleMailboxService } from './mailboxes/google-mailbox.service';
import { MailboxesController } from './mailboxes/mailboxes.controller';
import { MailboxesService } from './mailboxes/mailboxes.service';
import { MicrosoftMailboxService } from './mailboxes/microsoft-mailbox.service';
import { ShopifyWebhookGuard } from './shopify/shopify-webhook.guard';
import { ShopifyController } from './shopify/shopify.controller';
import { ShopifyService } from './shopify/shopify.service';
import { WooCommerceController } from './woocommerce/woocommerce.controller';
import { WooCommerceService } from './woocommerce/woocommerce.service';

/**
 * Store connections: Shopify installs and webhooks, BigCommerce single-click app callbacks,
 * WooCommerce key generation; Outlook and Gmail mailbox linking; and the retailer's list of
 * connections. Provider tokens are sealed at rest and never leave this module except as a
 * mailbox access token handed to in-process mail sending (MailboxesService.acquireAccessToken).
 * See docs/oauth-stores.md and docs/mailboxes.md.
 */
@Module({
  imports: [RetailerModule],
  controllers: [ShopifyController, BigCommerceController, WooCommerceController, MailboxesController, ConnectionsController],
  providers: [
    OAuthConnectionRepository,
    StoreAccountsService,
    ShopifyService,
    ShopifyWebhookGuard,
    BigCommerceService,
    WooCommerceService,
    MicrosoftMailboxService,
    GoogleMailboxService,
    MailboxesService,
    ConnectionsService,
  ],
  exports: [MailboxesService],
})
export class OAuthModule {}
