import { UseGuards } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { AuthPolicyOf } from '@app/common/auth';
import { RetailerIpAllowlistGuard } from '../settings/retailer-ip-allowlist.guard';
import { ImpersonationGuard } from './impersonation.guard';
import { RetailerAuthGuard } from './retailer-auth.guard';

/**
 * A route for signed-in retailer users (or an admin impersonating the retailer): the guards, the
 * deny-by-default policy and the OpenAPI entry.
 */
export const RetailerAuth = () =>
  AuthPolicyOf(
    'retailer',
    // ImpersonationGuard audits what it refuses; ImpersonationAudit (a response observer of the
    // global interceptor) audits every impersonated request that reaches the handler, with its
    // outcome. (An impersonated request refused by the merchant's IP allowlist is logged as a
    // rejected credential, not audited.)
    UseGuards(RetailerAuthGuard, ImpersonationGuard, RetailerIpAllowlistGuard),
    ApiBearerAuth('retailer'),
  );
