import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { ApiKeyModule } from '../api-key/api-key.module';
import { ReactivateJwtStrategy } from './reactivate-jwt.strategy';
import { ReactivateMarketingController } from './reactivate-marketing.controller';
import { ReactivateTokenService } from './reactivate-token.service';
import { ReactivateController } from './reactivate.controller';

/**
 * Reactivate: reactivate tokens (`aud: reactivate`, Bearer only) issued to signed-in dashboard
 * users and checked by ReactivateJwtStrategy / ReactivateAuthGuard, bound to the user's session
 * by `sid`; and the marketing routes behind reactivate API keys (ReactivateApiKeyGuard), which
 * take keys only, never a token.
 */
@Module({
  imports: [PassportModule, ApiKeyModule],
  controllers: [ReactivateController, ReactivateMarketingController],
  providers: [ReactivateTokenService, ReactivateJwtStrategy],
})
export class ReactivateModule {}
