import { UseGuards } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { AuthPolicyOf } from '@app/common/auth';
import { ReactivateAuthGuard } from './reactivate-auth.guard';

/** A Reactivate route for a signed-in user: the reactivate token guard, the policy and the OpenAPI entry. */
export const ReactivateAuth = () => AuthPolicyOf('reactivate', UseGuards(ReactivateAuthGuard), ApiBearerAuth('reactivate'));
