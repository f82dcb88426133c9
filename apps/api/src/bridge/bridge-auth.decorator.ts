import { UseGuards } from '@nestjs/common';
import { AuthPolicyOf } from '@app/common/auth';
import { BridgeAuthGuard } from './bridge-auth.guard';

/**
 * A route that takes a bridge token in its body: the guard and the deny-by-default policy. No
 * OpenAPI security entry: the credential is the body's `token`, described by the DTO.
 */
export const BridgeAuth = () => AuthPolicyOf('bridge', UseGuards(BridgeAuthGuard));
