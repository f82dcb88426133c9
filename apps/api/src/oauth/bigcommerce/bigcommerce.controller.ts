import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '@app/common/auth';
import { requestContext, redirect, type HttpRequest, type HttpResponse } from '@app/common/http';
import { BigCommerceQuery, BigCommerceService } from './bigcommerce.service';

// Query objects are read as plain records (not DTOs): BigCommerce adds parameters of its own
// (account_uuid, ...) that a whitelisting DTO would refuse.
@ApiTags('oauth')
@Controller('oauth/bigcommerce')
export class BigCommerceController {
  constructor(private readonly bigcommerce: BigCommerceService) {}

  @Get('callback')
  @Public()
  @ApiOperation({ summary: 'Auth callback (code, scope, context): exchanges the code, stores the token encrypted, 302 to the dashboard' })
  async callback(@Query() query: BigCommerceQuery, @Req() req: HttpRequest, @Res() res: HttpResponse) {
    redirect(res, await this.bigcommerce.callback(query, requestContext(req)));
  }

  @Get('load')
  @Public()
  @ApiOperation({ summary: 'Load callback: verifies signed_payload_jwt, 302 to the dashboard' })
  async load(@Query() query: BigCommerceQuery, @Res() res: HttpResponse) {
    redirect(res, await this.bigcommerce.load(query));
  }

  @Get('uninstall')
  @Public()
  @ApiOperation({ summary: 'Uninstall callback: verifies signed_payload_jwt, revokes the connection and forgets its token' })
  uninstall(@Query() query: BigCommerceQuery, @Req() req: HttpRequest) {
    return this.bigcommerce.uninstall(query, requestContext(req));
  }
}
