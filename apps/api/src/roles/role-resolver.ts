import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Role } from '@app/database';
import { flattenPermissions, isPredefinedRole, PermissionMap, permissionsOfRole } from './permissions';

export interface ResolvedRole {
  role: string;
  /** Flattened `resource:action` strings, as carried in the `perms` claim. */
  permissions: string[];
}

/**
 * What a role name means for one retailer: a predefined role from the fixed map, otherwise the
 * retailer's custom role of that name from Postgres. A name that resolves to nothing (a custom
 * role that no longer exists) grants nothing.
 */
@Injectable()
export class RoleResolver {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async resolve(retailerId: string, role: string, manager?: EntityManager): Promise<ResolvedRole> {
    if (isPredefinedRole(role)) return { role, permissions: permissionsOfRole(role) };
    const custom = await this.findCustom(retailerId, role, manager);
    return { role, permissions: custom ? flattenPermissions(custom.permissions as PermissionMap) : [] };
  }

  /** True when `role` names a predefined role or a custom role of this retailer. */
  async exists(retailerId: string, role: string, manager?: EntityManager): Promise<boolean> {
    return isPredefinedRole(role) || (await this.findCustom(retailerId, role, manager)) !== null;
  }

  private findCustom(retailerId: string, name: string, manager?: EntityManager): Promise<Role | null> {
    return (manager ?? this.dataSource.manager).getRepository(Role).findOneBy({ retailerId, name });
  }
}
