import { Body, Controller, Get, HttpCode, Param, Post, Put, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { requestContext, type HttpRequest } from '@app/common/http';
import { RetailerAuth } from '../retailer/retailer-auth.decorator';
import { CredentialRoute } from '../retailer/impersonation.guard';
import { CurrentPrincipal, RetailerPrincipal } from '../retailer/retailer-principal';
import { RequirePermission } from '../roles/require-permission.decorator';
import { UpdateIpAllowlistDto } from './dto/update-ip-allowlist.dto';
import { UpdateSsoSettingsDto } from './dto/update-sso-settings.dto';
import { RetailerAllowlistService } from './retailer-allowlist.service';
import { SsoSettingsService } from './sso-settings.service';

/** The retailer's security settings (settings:read to see, settings:write to change). */
@ApiTags('settings')
@Controller('settings/security')
export class SecuritySettingsController {
  constructor(
    private readonly allowlist: RetailerAllowlistService,
    private readonly sso: SsoSettingsService,
  ) {}

  @Get('ip-allowlist')
  @RetailerAuth()
  @ApiOperation({ summary: "The retailer's IP allowlist: {enabled, cidrs}" })
  getIpAllowlist(@CurrentPrincipal() principal: RetailerPrincipal) {
    return this.allowlist.get(principal);
  }

  @Put('ip-allowlist')
  @RetailerAuth()
  @ApiOperation({ summary: "Replace the retailer's IP allowlist; a switched-on list must include the caller's own address" })
  putIpAllowlist(@CurrentPrincipal() principal: RetailerPrincipal, @Body() dto: UpdateIpAllowlistDto, @Req() req: HttpRequest) {
    return this.allowlist.update(principal, dto, requestContext(req));
  }

  @Get('sso')
  @RequirePermission('settings', 'read')
  @ApiOperation({ summary: "The retailer's SSO settings: {trustProviderMfa, jitDomains: [{domain, role, status, verifiedAt, verification: {type, name, value}}]}" })
  getSso(@CurrentPrincipal() principal: RetailerPrincipal) {
    return this.sso.get(principal);
  }

  // Who may sign in (and without which factor) is a credential decision: not for impersonators.
  @Put('sso')
  @RequirePermission('settings', 'write')
  @CredentialRoute()
  @ApiOperation({ summary: 'Replace the SSO settings: trust the provider MFA, and the email domains (with their role) whose people get an account on first SSO sign-in' })
  putSso(@CurrentPrincipal() principal: RetailerPrincipal, @Body() dto: UpdateSsoSettingsDto, @Req() req: HttpRequest) {
    return this.sso.update(principal, dto, requestContext(req));
  }

  // Proving a domain turns on account creation for its people: a credential decision too.
  @Post('sso/domains/:domain/verify')
  @HttpCode(200)
  @RequirePermission('settings', 'write')
  @CredentialRoute()
  @ApiOperation({ summary: 'Verify a just-in-time domain: looks up the TXT record at _retail-auth.<domain>; 400 when it is not (yet) published, 409 when another account verified the domain, 503 when DNS cannot answer' })
  verifySsoDomain(@CurrentPrincipal() principal: RetailerPrincipal, @Param('domain') domain: string, @Req() req: HttpRequest) {
    return this.sso.verify(principal, domain, requestContext(req));
  }
}
