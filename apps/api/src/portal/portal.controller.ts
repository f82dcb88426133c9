import { Body, Controller, Get, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '@app/common/auth';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { requestContext, setHeader, type HttpRequest, type HttpResponse } from '@app/common/http';
import { CredentialRoute } from '../retailer/impersonation.guard';
import { RetailerAuth } from '../retailer/retailer-auth.decorator';
import { CurrentPrincipal, RetailerPrincipal } from '../retailer/retailer-principal';
import { PortalExchangeDto } from './dto/portal-exchange.dto';
import { PortalAuth } from './portal-auth.decorator';
import { setPortalCookie } from './portal-cookie';
import { PortalPrincipal } from './portal-principal';
import { PortalService } from './portal.service';

@ApiTags('portal')
@Controller('portal')
export class PortalController {
  constructor(
    private readonly portal: PortalService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  // 200, like the other routes that hand the caller a fresh credential (login, TOTP setup,
  // backup codes); the contract marks 201 only where a resource is created.
  @Post('sso/handoff')
  @RetailerAuth()
  @CredentialRoute()
  @HttpCode(200)
  @ApiOperation({ summary: 'A single-use code (PORTAL_CODE_TTL, 60 s) the merchant portal trades for a portal token' })
  handoff(@CurrentPrincipal() principal: RetailerPrincipal, @Req() req: HttpRequest) {
    return this.portal.handoff(principal, requestContext(req));
  }

  @Post('sso/exchange')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Trade a handoff code for a portal token (also set as the portal cookie)' })
  async exchange(@Body() dto: PortalExchangeDto, @Req() req: HttpRequest, @Res({ passthrough: true }) res: HttpResponse) {
    // The page that consumed the code must not leak it in a Referer header.
    setHeader(res, 'Referrer-Policy', 'no-referrer');
    const issued = await this.portal.exchange(dto.code, requestContext(req));
    setPortalCookie(res, this.config, issued);
    return { token: issued.token, expiresAt: issued.expiresAt };
  }

  @Get('me')
  @PortalAuth()
  @ApiOperation({ summary: 'The retailer and user behind a portal token' })
  me(@CurrentPrincipal() principal: PortalPrincipal) {
    return { retailerId: principal.retailerId, userId: principal.userId };
  }
}
