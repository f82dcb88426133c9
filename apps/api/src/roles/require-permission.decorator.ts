import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { ApiForbiddenResponse } from '@nestjs/swagger';
import { RetailerAuth } from '../retailer/retailer-auth.decorator';
import type { Action, Resource } from './permissions';
import { PermissionGuard, REQUIRED_PERMISSION } from './permission.guard';

/**
 * A route for signed-in retailer users holding `resource:action`. It applies RetailerAuth itself,
 * before PermissionGuard, so the guards always run in that order (the principal must exist before
 * its permissions are read) however the decorators are stacked on the handler.
 */
export const RequirePermission = (resource: Resource, action: Action) =>
  applyDecorators(
    RetailerAuth(),
    SetMetadata(REQUIRED_PERMISSION, `${resource}:${action}`),
    UseGuards(PermissionGuard),
    ApiForbiddenResponse({ description: `FORBIDDEN without the ${resource}:${action} permission` }),
  );
