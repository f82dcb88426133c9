import { Module } from '@nestjs/common';
import { RetailerModule } from '../retailer/retailer.module';
import { OidcClients } from './oidc-clients';
import { SsoMembersService } from './sso-members.service';
import { SsoController } from './sso.controller';
import { SsoService } from './sso.service';

/**
 * SSO sign-in over OpenID Connect (Google, Microsoft, Okta, and any provider configured by its
 * issuer URL). The retailer's SSO settings (trusted provider MFA, just-in-time domains) live in
 * the Settings module. See docs/sso.md.
 */
@Module({
  imports: [RetailerModule],
  controllers: [SsoController],
  providers: [OidcClients, SsoMembersService, SsoService],
})
export class SsoModule {}
