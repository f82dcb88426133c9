import { UseGuards } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { AuthPolicyOf } from '@app/common/auth';
import { RetailerIpAllowlistGuard } from '../settings/retailer-ip-allowlist.guard';
import { RetailerAuthGuard } from './retailer-auth.guard';

/** A route for signed-in retailer users: the guard, the deny-by-default policy and the OpenAPI entry. */
export const RetailerAuth = () => AuthPolicyOf('retailer', UseGuards(RetailerAuthGuard, RetailerIpAllowlistGuard), ApiBearerAuth('retailer'));
