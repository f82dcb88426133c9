import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { requestContext, type HttpRequest, type HttpResponse } from '@app/common/http';
import { SessionCookies } from '../retailer/session-cookies';
import { BridgeAuth } from './bridge-auth.decorator';
import { BridgePrincipal, CurrentBridge } from './bridge-claims';
import { BridgeService } from './bridge.service';
import { BridgeExchangeDto } from './dto/bridge-exchange.dto';

@ApiTags('auth')
@Controller('auth/bridge')
export class BridgeController {
  constructor(
    private readonly bridge: BridgeService,
    private readonly cookies: SessionCookies,
  ) {}

  @Post()
  @BridgeAuth()
  @HttpCode(200)
  @ApiOperation({ summary: 'Trade a single-use bridge token from a sibling service for a retailer session (answers as login)' })
  // The body was validated and its token verified and spent by BridgeAuthGuard; the DTO documents it.
  async exchange(@CurrentBridge() principal: BridgePrincipal, @Body() _dto: BridgeExchangeDto, @Req() req: HttpRequest, @Res({ passthrough: true }) res: HttpResponse) {
    return this.cookies.signedIn(res, await this.bridge.exchange(principal, requestContext(req)));
  }
}
