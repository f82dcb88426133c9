import { Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '@app/common/auth';
import { requestContext } from '@app/common/http';
import { CredentialRoute } from '../../retailer/impersonation.guard';
import { CurrentPrincipal, RetailerPrincipal } from '../../retailer/retailer-principal';
import { RequirePermission } from '../../roles/require-permission.decorator';
import { ShopifyWebhookAuth } from './shopify-webhook.guard';
import { ShopifyService } from './shopify.service';

@ApiTags('oauth')
@Controller('oauth/shopify')
export class ShopifyController {
  constructor(private readonly shopify: ShopifyService) {}

  @Get('install')
  @Public()
  @ApiOperation({ summary: "?shop= → 302 to the shop's authorize URL with a single-use state bound to this browser" })
  async install(@Req() req: Request, @Res() res: Response) {
    const { authorizeUrl } = await this.shopify.begin(req, res);
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.redirect(302, authorizeUrl);
  }

  @Get('connect')
  @RequirePermission('settings', 'write')
  @CredentialRoute()
  @ApiOperation({ summary: "?shop= → {authorizeUrl, expiresAt}: connect a shop to the signed-in retailer (the browser then goes to authorizeUrl)" })
  connect(@CurrentPrincipal() principal: RetailerPrincipal, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return this.shopify.begin(req, res, principal);
  }

  @Get('callback')
  @Public()
  @ApiOperation({ summary: 'Signed redirect from Shopify: checks hmac, state, shop and timestamp, exchanges the code, signs in, 302 to the dashboard' })
  async callback(@Req() req: Request, @Res() res: Response) {
    const target = await this.shopify.callback(req, res, requestContext(req));
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.redirect(302, target);
  }

  @Post('webhooks')
  @ShopifyWebhookAuth()
  @HttpCode(200)
  @ApiOperation({ summary: 'Signed Shopify webhooks: app/uninstalled revokes the connection; each delivery id is handled once' })
  webhook(@Req() req: Request) {
    return this.shopify.handleWebhook(req, requestContext(req));
  }
}
