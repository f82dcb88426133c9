import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '@app/common/auth';
import { requestContext } from '@app/common/http';
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
  async callback(@Query() query: BigCommerceQuery, @Req() req: Request, @Res() res: Response) {
    res.redirect(302, await this.bigcommerce.callback(query, requestContext(req)));
  }

  @Get('load')
  @Public()
  @ApiOperation({ summary: 'Load callback: verifies signed_payload_jwt, 302 to the dashboard' })
  async load(@Query() query: BigCommerceQuery, @Res() res: Response) {
    res.redirect(302, await this.bigcommerce.load(query));
  }

  @Get('uninstall')
  @Public()
  @ApiOperation({ summary: 'Uninstall callback: verifies signed_payload_jwt, revokes the connection and forgets its token' })
  uninstall(@Query() query: BigCommerceQuery, @Req() req: Request) {
    return this.bigcommerce.uninstall(query, requestContext(req));
  }
}
