import { Module } from '@nestjs/common';
import { ApiKeyModule } from '../api-key/api-key.module';
import { ReactivateMarketingController } from './reactivate-marketing.controller';

/** Reactivate: the marketing routes behind reactivate keys (its token type arrives with issue 6). */
@Module({ imports: [ApiKeyModule], controllers: [ReactivateMarketingController] })
export class ReactivateModule {}
