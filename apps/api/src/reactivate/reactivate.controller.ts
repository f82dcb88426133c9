import { Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { requestContext, type HttpRequest } from '@app/common/http';
import { CredentialRoute } from '../retailer/impersonation.guard';
import { RetailerAuth } from '../retailer/retailer-auth.decorator';
import { CurrentPrincipal, RetailerPrincipal } from '../retailer/retailer-principal';
import { ReactivateAuth } from './reactivate-auth.decorator';
import { ReactivatePrincipal } from './reactivate-principal';
import { ReactivateTokenService } from './reactivate-token.service';

@ApiTags('reactivate')
@Controller('reactivate')
export class ReactivateController {
  constructor(private readonly tokens: ReactivateTokenService) {}

  // 200, like the other routes that hand the caller a fresh credential (login, refresh).
  @Post('auth/token')
  @RetailerAuth()
  @CredentialRoute()
  @HttpCode(200)
  @ApiOperation({ summary: 'A reactivate token for the signed-in user, revoked with their session' })
  issue(@CurrentPrincipal() principal: RetailerPrincipal, @Req() req: HttpRequest) {
    return this.tokens.issue(principal, requestContext(req));
  }

  @Get('me')
  @ReactivateAuth()
  @ApiOperation({ summary: 'The retailer and user behind a reactivate token' })
  me(@CurrentPrincipal() principal: ReactivatePrincipal) {
    return { retailerId: principal.retailerId, userId: principal.userId };
  }
}
