import { Global, Module } from '@nestjs/common';
import { ImpersonationService } from './impersonation.service';
import { RevocationService } from './revocation.service';
import { SessionService } from './session.service';

@Global()
@Module({
  providers: [SessionService, RevocationService, ImpersonationService],
  exports: [SessionService, RevocationService, ImpersonationService],
})
export class SessionsModule {}
