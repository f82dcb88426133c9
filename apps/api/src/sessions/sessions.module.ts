import { Global, Module } from '@nestjs/common';
import { RevocationService } from './revocation.service';
import { SessionService } from './session.service';

@Global()
@Module({ providers: [SessionService, RevocationService], exports: [SessionService, RevocationService] })
export class SessionsModule {}
