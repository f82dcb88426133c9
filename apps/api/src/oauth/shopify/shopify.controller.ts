import { Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '@app/common/auth';
import { requestContext, redirect, setHeader, type HttpRequest, type HttpResponse } from '@app/common/http';
import { CredentialRoute } from '../../retailer/impersonation.guard';
import { CurrentPrincipal, RetailerPrincipal } from '../../retailer/retailer-principal';
import { RequirePermission } from '../../roles/require-permission.decorator';
import { ShopifyWebhookAuth } from './shopify-webhook.guard';
import { ShopifyService } from './shopify.service';
import { RateLimitService } from '../../rate-limit/rate-limit.service';

@ApiTags('oauth')
@Controller('oauth/shopify')
export class ShopifyController {
  constructor(
    private readonly shopify: ShopifyService,
    private readonly limits: RateLimitService,
  ) {}

  @Get('install')
  @Public()
  @ApiOperation({ summary: "?shop= → 302 to the shop's authorize URL with a single-use state bound to this browser" })
  async install(@Req() req: HttpRequest, @Res() res: HttpResponse) {
    // Each install stores a state row: bounded per address before anything is written.
    await this.limits.consume('oauthInstallPerIp', requestContext(req).ip);
    const { authorizeUrl } = await this.shopify.begin(req, res);
    setHeader(res, 'Referrer-Policy', 'no-referrer');
    redirect(res, authorizeUrl);
  }

  @Get('connect')
  @RequirePermission('settings', 'write')
  @CredentialRoute()
  @ApiOperation({ summary: "?shop= → {authorizeUrl, expiresAt}: connect a shop to the signed-in retailer (the browser then goes to authorizeUrl)" })
  connect(@CurrentPrincipal() principal: RetailerPrincipal, @Req() req: HttpRequest, @Res({ passthrough: true }) res: HttpResponse) {
    return this.shopify.begin(req, res, principal);
  }

  @Get('callback')
  @Public()
  @ApiOperation({ summary: 'Signed redirect from Shopify: checks hmac, state, shop and timestamp, exchanges the code, signs in, 302 to the dashboard' })
  async callback(@Req() req: HttpRequest, @Res() res: HttpResponse) {
    const target = await this.shopify.callback(req, res, requestContext(req));
    setHeader(res, 'Referrer-Policy', 'no-referrer');
    redirect(res, target);
  }

  @Post('webhooks')
  @ShopifyWebhookAuth()
  @HttpCode(200)
  @ApiOperation({ summary: 'Signed Shopify webhooks: app/uninstalled revokes the connection; each delivery id is handled once' })
  webhook(@Req() req: HttpRequest) {
    return this.shopify.handleWebhook(req, requestContext(req));
  }
}
