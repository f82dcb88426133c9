import { UseGuards } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { AuthPolicyOf } from '@app/common/auth';
import { RetailerAuthGuard } from './retailer-auth.guard';

/** A route for signed-in retailer users: the guard, the deny-by-default policy and the OpenAPI entry. */
export const RetailerAuth = () => AuthPolicyOf('retailer', UseGuards(RetailerAuthGuard), ApiBearerAuth('retailer'));
