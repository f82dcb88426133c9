import { ExecutionContext, Injectable } from '@nestjs/common';
import { ApiError } from '@app/common/errors';
import { createValidationPipe, requestContext, type HttpRequest } from '@app/common/http';
import { JwtAuthGuardFor } from '../tokens/jwt-auth.guard';
import { BridgeClaims } from './bridge-claims';
import { BridgeService } from './bridge.service';
import { BridgeExchangeDto } from './dto/bridge-exchange.dto';

/**
 * Bridge tokens from the JSON body (BridgeJwtStrategy), then, on this request's own instance,
 * the single use of the jti and the user the token names. Every refusal of a token whose issuer
 * is known is audit-logged (`bridge_exchange`, failure, with the reason code).
 */
@Injectable()
export class BridgeAuthGuard extends JwtAuthGuardFor('bridge-jwt') {
  private readonly bodyPipe = createValidationPipe();

  constructor(private readonly bridge: BridgeService) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<HttpRequest>();
    const token = (req.body as { token?: unknown } | undefined)?.token;
    // Guards run before pipes: a malformed body is refused here, before its token is spent.
    // Without any token the strategy answers TOKEN_MISSING, like every guarded route.
    if (token !== undefined) await this.bodyPipe.transform(req.body, { type: 'body', metatype: BridgeExchangeDto });
    let verified: BridgeClaims | undefined;
    try {
      await super.canActivate(context);
      verified = req.user as BridgeClaims;
      req.user = await this.bridge.redeem(verified);
      return true;
    } catch (err) {
      if (err instanceof ApiError) await this.bridge.recordRefusal(token, verified, err.code, requestContext(req));
      throw err;
    }
  }
}
