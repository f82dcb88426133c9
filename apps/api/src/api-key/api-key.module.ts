import { Module } from '@nestjs/common';
import { ApiKeyCache } from './api-key-cache';
import { ApiKeyController } from './api-key.controller';
import { ApiKeyRepository } from './api-key.repository';
import { ApiKeyService } from './api-key.service';
import { ReportingController } from './reporting.controller';

/** Retailer API keys (reporting, reactivate) and the reporting routes they open. */
@Module({
  controllers: [ApiKeyController, ReportingController],
  providers: [ApiKeyService, ApiKeyRepository, ApiKeyCache],
  // invalidateRetailer() is for the modules that suspend retailers or change their allowlist.
  exports: [ApiKeyService],
})
export class ApiKeyModule {}
