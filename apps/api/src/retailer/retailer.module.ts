import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { ImpersonationAudit, ImpersonationGuard } from './impersonation.guard';
import { MagicLinkController } from './magic-link/magic-link.controller';
import { MagicLinkService } from './magic-link/magic-link.service';
import { MfaController } from './mfa/mfa.controller';
import { MfaService } from './mfa/mfa.service';
import { RetailerAuthService } from './retailer-auth.service';
import { RetailerJwtStrategy } from './retailer-jwt.strategy';
import { RetailerController } from './retailer.controller';
import { SessionCookies } from './session-cookies';

/** Retailer sign-in: passwords, sessions, second factors and magic links. */
@Module({
  imports: [PassportModule],
  controllers: [RetailerController, MfaController, MagicLinkController],
  providers: [ImpersonationGuard, ImpersonationAudit, RetailerAuthService, RetailerJwtStrategy, SessionCookies, MfaService, MagicLinkService],
  exports: [ImpersonationAudit, RetailerAuthService, SessionCookies, MfaService],
})
export class RetailerModule {}
