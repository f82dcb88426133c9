import { CanActivate, ExecutionContext, Inject, Injectable, UseGuards } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { AuthPolicyOf } from '@app/common/auth';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { ApiError, ErrorCode } from '@app/common/errors';
import { verifyWebhookHmac } from './shopify-signatures';
import type { HttpRequest } from '@app/common/http';

/**
 * Checks `X-Shopify-Hmac-Sha256` over the exact body bytes (`req.rawBody`, kept for this path by
 * RAW_BODY_PATHS) before the handler sees anything: missing → 401 TOKEN_MISSING, wrong,
 * truncated, hex, or over other bytes → 401 TOKEN_INVALID, with no side effect.
 */
@Injectable()
export class ShopifyWebhookGuard implements CanActivate {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<HttpRequest & { rawBody?: Buffer }>();
    const header = req.headers['x-shopify-hmac-sha256'];
    if (header === undefined || header === '') throw new ApiError(ErrorCode.TOKEN_MISSING, 'The webhook is not signed (X-Shopify-Hmac-Sha256).');
    const secret = this.config.oauth.shopify.apiSecret;
    if (!secret) throw new ApiError(ErrorCode.SERVICE_UNAVAILABLE, 'Shopify is not configured on this server (SHOPIFY_API_KEY, SHOPIFY_API_SECRET).');
    if (typeof header !== 'string' || !Buffer.isBuffer(req.rawBody) || !verifyWebhookHmac(secret, req.rawBody, header)) {
      throw new ApiError(ErrorCode.TOKEN_INVALID, 'The webhook signature does not match its body.');
    }
    return true;
  }
}

/** A route for Shopify's signed webhooks: the guard, the deny-by-default policy and the OpenAPI header. */
export const ShopifyWebhookAuth = () =>
  AuthPolicyOf('shopify-webhook', UseGuards(ShopifyWebhookGuard), ApiHeader({ name: 'X-Shopify-Hmac-Sha256', required: true, description: 'base64 HMAC-SHA256 of the raw body with the app secret' }));
