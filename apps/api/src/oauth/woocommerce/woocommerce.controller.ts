import { Body, Controller, Get, HttpCode, Post, Query, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '@app/common/auth';
import { requestContext, type HttpRequest } from '@app/common/http';
import { CredentialRoute } from '../../retailer/impersonation.guard';
import { CurrentPrincipal, RetailerPrincipal } from '../../retailer/retailer-principal';
import { RequirePermission } from '../../roles/require-permission.decorator';
import { WooCallbackDto, WooConnectQueryDto } from './dto/woocommerce.dto';
import { WooCommerceService } from './woocommerce.service';

@ApiTags('oauth')
@Controller('oauth/woocommerce')
export class WooCommerceController {
  constructor(private readonly woocommerce: WooCommerceService) {}

  @Get('connect')
  @RequirePermission('settings', 'write')
  @CredentialRoute()
  @ApiOperation({ summary: "?storeUrl= → {authorizeUrl, expiresAt}: the store's /wc-auth/v1/authorize with a single-use nonce as user_id" })
  connect(@CurrentPrincipal() principal: RetailerPrincipal, @Query() query: WooConnectQueryDto) {
    return this.woocommerce.connect(principal, query.storeUrl);
  }

  @Post('callback')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'The store posts the consumer key and secret for a pending connect request (once)' })
  callback(@Body() dto: WooCallbackDto, @Req() req: HttpRequest) {
    return this.woocommerce.callback(dto, requestContext(req));
  }
}
