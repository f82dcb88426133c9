import { Global, Module } from '@nestjs/common';
import { OneTimeTokenService } from './one-time-token.service';

@Global()
@Module({ providers: [OneTimeTokenService], exports: [OneTimeTokenService] })
export class OneTimeTokensModule {}
