import { UseGuards } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { AuthPolicyOf } from '@app/common/auth';
import { PortalAuthGuard } from './portal-auth.guard';

/** A merchant-portal route: the portal guard, the deny-by-default policy and the OpenAPI entry. */
export const PortalAuth = () => AuthPolicyOf('portal', UseGuards(PortalAuthGuard), ApiBearerAuth('portal'));
