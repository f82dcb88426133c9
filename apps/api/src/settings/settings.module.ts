import { Global, Module } from '@nestjs/common';
import { ApiKeyModule } from '../api-key/api-key.module';
import { RetailerAllowlistCache } from './retailer-allowlist-cache';
import { RetailerAllowlistService } from './retailer-allowlist.service';
import { SecuritySettingsController } from './security-settings.controller';
import { SsoSettingsService } from './sso-settings.service';

/**
 * Retailer settings: the security settings (IP allowlist, SSO sign-in). Global because RetailerIpAllowlistGuard,
 * part of the RetailerAuth decorator, is built in the module of every controller that uses it and
 * needs this module's cache there.
 */
@Global()
@Module({
  imports: [ApiKeyModule],
  controllers: [SecuritySettingsController],
  providers: [RetailerAllowlistService, RetailerAllowlistCache, SsoSettingsService],
  exports: [RetailerAllowlistCache],
})
export class SettingsModule {}
