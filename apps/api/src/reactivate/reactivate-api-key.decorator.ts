import { UseGuards } from '@nestjs/common';
import { ApiSecurity } from '@nestjs/swagger';
import { AuthPolicyOf } from '@app/common/auth';
import { ReactivateApiKeyGuard } from './reactivate-api-key.guard';

/** A Reactivate marketing route: reactivate keys only. */
export const ReactivateApiKeyAuth = () => AuthPolicyOf('reactivate-api-key', UseGuards(ReactivateApiKeyGuard), ApiSecurity('api-key'));
