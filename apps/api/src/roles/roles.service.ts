import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { ApiError, ErrorCode, ErrorDetail } from '@app/common/errors';
import type { RequestContext } from '@app/common/http';
import { isUniqueViolation, Role, User } from '@app/database';
import { AuditService } from '../audit/audit.service';
import type { RetailerPrincipal } from '../retailer/retailer-principal';
import { CreateRoleDto, UpdateRoleDto } from './dto/role.dto';
import { Action, ACTIONS, flattenPermissions, isPredefinedRole, PermissionMap, Resource, RESOURCES } from './permissions';
import { RoleChangesService } from './role-changes.service';

/**
 * Permissions a custom role can never carry: the contract lets only owners and admins manage
 * team, keys and settings, so those stay with the predefined roles.
 */
const RESERVED_PERMISSIONS = ['team:write', 'settings:write', 'api_keys:write'];

export function roleView(role: Role) {
  return { id: role.id, name: role.name, permissions: role.permissions, createdAt: role.createdAt.toISOString(), updatedAt: role.updatedAt.toISOString() };
}

/** A retailer's custom roles. Every query is scoped by the caller's retailer. */
@Injectable()
export class RolesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly roleChanges: RoleChangesService,
  ) {}

  async list(principal: RetailerPrincipal) {
    const roles = await this.dataSource.getRepository(Role).find({ where: { retailerId: principal.retailerId }, order: { name: 'ASC' } });
    return roles.map(roleView);
  }

  async create(principal: RetailerPrincipal, dto: CreateRoleDto, ctx: RequestContext) {
    const permissions = this.validPermissions(dto.permissions, principal);
    const role = await this.dataSource.transaction(async (manager) => {
      await this.assertNameFree(manager, principal.retailerId, dto.name);
      const role = await this.save(manager, manager.getRepository(Role).create({ retailerId: principal.retailerId, name: dto.name, permissions }));
      await this.audit.record(
        { event: 'role_created', actorType: 'user', actorId: principal.userId, retailerId: principal.retailerId, status: 'success', metadata: { roleId: role.id, name: role.name, permissions } },
        ctx,
        manager,
      );
      return role;
    });
    return roleView(role);
  }

  /** A rename carries the role's members along; any change applies to their next request. */
  async update(principal: RetailerPrincipal, id: string, dto: UpdateRoleDto, ctx: RequestContext) {
    const permissions = dto.permissions === undefined ? undefined : this.validPermissions(dto.permissions, principal);
    const { role, members } = await this.dataSource.transaction(async (manager) => {
      const role = await manager.getRepository(Role).findOne({ where: { id, retailerId: principal.retailerId }, lock: { mode: 'pessimistic_write' } });
      if (!role) throw new ApiError(ErrorCode.NOT_FOUND, 'No such role.');
      const before = { name: role.name, permissions: role.permissions };
      if (dto.name !== undefined && dto.name !== role.name) await this.assertNameFree(manager, principal.retailerId, dto.name, role.id);
      const members = await manager.getRepository(User).find({ where: { retailerId: principal.retailerId, role: role.name }, select: { id: true } });
      if (dto.name !== undefined) role.name = dto.name;
      if (permissions !== undefined) role.permissions = permissions;
      const saved = await this.save(manager, role);
      if (members.length) {
        await manager
          .createQueryBuilder()
          .update(User)
          .set({ role: saved.name, roleChangedAt: () => 'now()' })
          .where('retailer_id = :retailerId AND role = :old', { retailerId: principal.retailerId, old: before.name })
          .execute();
      }
      await this.audit.record(
        {
          event: 'role_updated',
          actorType: 'user',
          actorId: principal.userId,
          retailerId: principal.retailerId,
          status: 'success',
          metadata: { roleId: role.id, before, after: { name: saved.name, permissions: saved.permissions }, members: members.length },
        },
        ctx,
        manager,
      );
      return { role: saved, members };
    });
    if (members.length) {
      const perms = flattenPermissions(role.permissions as PermissionMap);
      await this.roleChanges.publish({ changed: members.map((m) => ({ userId: m.id, role: role.name, permissions: perms })) });
    }
    return roleView(role);
  }

  async remove(principal: RetailerPrincipal, id: string, ctx: RequestContext): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const role = await manager.getRepository(Role).findOne({ where: { id, retailerId: principal.retailerId }, lock: { mode: 'pessimistic_write' } });
      if (!role) throw new ApiError(ErrorCode.NOT_FOUND, 'No such role.');
      if (await manager.getRepository(User).existsBy({ retailerId: principal.retailerId, role: role.name })) {
        throw new ApiError(ErrorCode.CONFLICT, 'The role is assigned to members; give them another role first.');
      }
      await manager.getRepository(Role).delete({ id: role.id });
      await this.audit.record(
        { event: 'role_deleted', actorType: 'user', actorId: principal.userId, retailerId: principal.retailerId, status: 'success', metadata: { roleId: role.id, name: role.name } },
        ctx,
        manager,
      );
    });
  }

  /**
   * `{resource: [actions]}` of known resources and actions, normalised (deduplicated, in the
   * contract's order). A custom role grants neither a reserved permission nor one its author lacks,
   * so an admin cannot mint a role with billing rights.
   */
  private validPermissions(raw: Record<string, unknown>, principal: RetailerPrincipal): PermissionMap {
    const details: ErrorDetail[] = [];
    const out: PermissionMap = {};
    for (const [resource, actions] of Object.entries(raw)) {
      const field = `permissions.${resource}`;
      if (!(RESOURCES as readonly string[]).includes(resource)) {
        details.push({ field, message: `unknown resource; one of ${RESOURCES.join(', ')}` });
        continue;
      }
      if (!Array.isArray(actions) || actions.some((a) => !(ACTIONS as readonly string[]).includes(a as string))) {
        details.push({ field, message: `must be a list of ${ACTIONS.join(', ')}` });
        continue;
      }
      const wanted = ACTIONS.filter((a) => actions.includes(a));
      for (const action of wanted) {
        const perm = `${resource}:${action}`;
        if (RESERVED_PERMISSIONS.includes(perm)) details.push({ field, message: `${perm} is reserved to the owner and admin roles` });
        else if (!principal.permissions.includes(perm)) details.push({ field, message: `you cannot grant ${perm}, which you do not have` });
      }
      if (wanted.length) out[resource as Resource] = wanted as Action[];
    }
    if (details.length) throw ApiError.validation(details, 'The permissions are invalid.');
    return out;
  }

  /** Unique per retailer (case-insensitively, so "Buyer" and "buyer" do not both exist) and never a predefined name. */
  private async assertNameFree(manager: EntityManager, retailerId: string, name: string, exceptId?: string): Promise<void> {
    if (isPredefinedRole(name.toLowerCase())) {
      throw ApiError.validation([{ field: 'name', message: `"${name}" is a predefined role` }]);
    }
    const qb = manager.getRepository(Role).createQueryBuilder('r').where('r.retailer_id = :retailerId AND lower(r.name) = lower(:name)', { retailerId, name });
    if (exceptId) qb.andWhere('r.id <> :exceptId', { exceptId });
    if (await qb.getExists()) throw new ApiError(ErrorCode.CONFLICT, 'A role with this name already exists.');
  }

  private async save(manager: EntityManager, role: Role): Promise<Role> {
    try {
      return await manager.getRepository(Role).save(role);
    } catch (err) {
      // Two creations of one name racing: the unique index decides.
      if (isUniqueViolation(err)) throw new ApiError(ErrorCode.CONFLICT, 'A role with this name already exists.');
      throw err;
    }
  }
}
