import { Global, Module } from '@nestjs/common';
import { PermissionGuard } from './permission.guard';
import { RoleChangesService } from './role-changes.service';
import { RoleResolver } from './role-resolver';
import { RolesController } from './roles.controller';
import { RolesService } from './roles.service';

/**
 * Roles and permissions. Global because sign-in (SessionService, the access token's claims) and
 * the retailer strategy (recent role changes) need RoleResolver and RoleChangesService.
 */
@Global()
@Module({
  controllers: [RolesController],
  providers: [RolesService, RoleResolver, RoleChangesService, PermissionGuard],
  exports: [RoleResolver, RoleChangesService, PermissionGuard],
})
export class RolesModule {}
