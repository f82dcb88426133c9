import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, IsNull, MoreThan, Not } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { normalizeEmail } from '@app/common/crypto';
import { ApiError, ErrorCode } from '@app/common/errors';
import type { RequestContext } from '@app/common/http';
import { checkPasswordPolicy, PasswordHasher } from '@app/common/passwords';
import { isUniqueViolation, OneTimeToken, Retailer, Session, User } from '@app/database';
import { AuditService } from '../audit/audit.service';
import { MailOutboxService } from '../mail/mail-outbox.service';
import { OneTimeTokenService } from '../one-time-tokens/one-time-token.service';
import { RetailerAuthService, SignedIn } from '../retailer/retailer-auth.service';
import type { RetailerPrincipal } from '../retailer/retailer-principal';
import { RoleChangesService } from '../roles/role-changes.service';
import { RoleResolver } from '../roles/role-resolver';
import { SessionService } from '../sessions/session.service';
import { AcceptInviteDto, InviteMemberDto, UpdateMemberDto } from './dto/team.dto';
import { inviteMail } from './team-mails';

export function memberView(user: User) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    dashboards: user.dashboards,
    mfaEnabled: Boolean(user.totpEnabledAt || user.emailOtpEnabledAt),
    lastLoginAt: user.lastLoginAt?.toISOString() ?? null,
  };
}

const ALREADY_REGISTERED = 'An account with this email already exists.';

/**
 * A retailer's team: invitations, members, their roles and dashboards. Every query is scoped by
 * the caller's retailer, so another retailer's member is simply NOT_FOUND. Changes to owners run
 * under a per-retailer advisory lock, so two owners demoting each other at once cannot leave the
 * retailer without one.
 */
@Injectable()
export class TeamService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly passwords: PasswordHasher,
    private readonly oneTime: OneTimeTokenService,
    private readonly mail: MailOutboxService,
    private readonly audit: AuditService,
    private readonly roles: RoleResolver,
    private readonly roleChanges: RoleChangesService,
    private readonly sessions: SessionService,
    private readonly auth: RetailerAuthService,
  ) {}

  async invite(principal: RetailerPrincipal, dto: InviteMemberDto, ctx: RequestContext) {
    const email = normalizeEmail(dto.email);
    const dashboards = dto.dashboards ?? [];
    await this.assertAssignable(principal, dto.role);
    if (await this.dataSource.getRepository(User).existsBy({ email })) throw new ApiError(ErrorCode.CONFLICT, ALREADY_REGISTERED);
    const retailer = await this.dataSource.getRepository(Retailer).findOneByOrFail({ id: principal.retailerId });
    const ttlMs = this.config.auth.inviteTtlMs;
    await this.dataSource.transaction(async (manager) => {
      const token = await this.oneTime.issue(
        'invite',
        { retailerId: retailer.id, email, ttlMs, metadata: { role: dto.role, dashboards, invitedBy: principal.userId } },
        manager,
      );
      const link = `${this.config.http.publicBaseUrl}/accept-invite?token=${encodeURIComponent(token)}`;
      await this.mail.enqueue(inviteMail(email, retailer.name, link, Math.max(1, Math.round(ttlMs / 86_400_000))), manager);
      await this.audit.record(
        { event: 'member_invited', actorType: 'user', actorId: principal.userId, retailerId: retailer.id, status: 'success', metadata: { email, role: dto.role, dashboards } },
        ctx,
        manager,
      );
    });
    this.mail.nudge();
    return { email, role: dto.role, dashboards, expiresAt: new Date(Date.now() + ttlMs).toISOString() };
  }

  /** Creates the member under the password policy and signs them in, as a login would. */
  async accept(dto: AcceptInviteDto, ctx: RequestContext): Promise<SignedIn> {
    // The policy is checked before the link is consumed, so a rejected password does not burn it.
    const pending = await this.oneTime.peek('invite', dto.token);
    const details = checkPasswordPolicy(dto.password, {
      minLength: this.config.auth.passwordMinLength,
      requireClasses: this.config.auth.passwordRequireClasses,
      email: pending?.email ?? undefined,
      field: 'password',
    });
    if (details.length) throw ApiError.validation(details, 'The password does not meet the policy.');
    const passwordHash = await this.passwords.hash(dto.password);
    let user: User;
    try {
      user = await this.dataSource.transaction(async (manager) => {
        const token = await this.oneTime.consume('invite', dto.token, { manager });
        const retailer = token.retailerId ? await manager.getRepository(Retailer).findOneBy({ id: token.retailerId }) : null;
        if (!retailer || !token.email) throw new ApiError(ErrorCode.TOKEN_INVALID);
        if (retailer.status !== 'active') throw new ApiError(ErrorCode.ACCOUNT_SUSPENDED);
        const role = String(token.metadata.role ?? '');
        if (!(await this.roles.exists(retailer.id, role, manager))) {
          throw new ApiError(ErrorCode.CONFLICT, 'The role of this invitation no longer exists; ask for a new invitation.');
        }
        if (await manager.getRepository(User).existsBy({ email: token.email })) throw new ApiError(ErrorCode.CONFLICT, ALREADY_REGISTERED);
        const user = await manager.getRepository(User).save(
          manager.getRepository(User).create({
            retailerId: retailer.id,
            email: token.email,
            name: dto.name,
            passwordHash,
            role,
            dashboards: Array.isArray(token.metadata.dashboards) ? (token.metadata.dashboards as string[]) : [],
            passwordChangedAt: new Date(),
            // Following the mailed link proves the mailbox.
            emailVerifiedAt: new Date(),
          }),
        );
        await this.audit.record(
          { event: 'invite_accepted', actorType: 'user', actorId: user.id, retailerId: retailer.id, status: 'success', metadata: { role, invitedBy: token.metadata.invitedBy ?? null } },
          ctx,
          manager,
        );
        return user;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ApiError(ErrorCode.CONFLICT, ALREADY_REGISTERED);
      throw err;
    }
    return this.auth.completeSignIn(user, 'invite', ctx);
  }

  async list(principal: RetailerPrincipal) {
    const users = await this.dataSource.getRepository(User).find({ where: { retailerId: principal.retailerId }, order: { createdAt: 'ASC' } });
    return users.map(memberView);
  }

  /** Invitations of the retailer still waiting: not accepted, not cancelled, not expired; newest first. */
  async listInvites(principal: RetailerPrincipal) {
    const rows = await this.dataSource.getRepository(OneTimeToken).find({
      where: { purpose: 'invite', retailerId: principal.retailerId, usedAt: IsNull(), expiresAt: MoreThan(new Date()) },
      order: { createdAt: 'DESC' },
    });
    return rows.map((row) => ({
      id: row.id,
      email: row.email,
      role: String(row.metadata.role ?? ''),
      dashboards: Array.isArray(row.metadata.dashboards) ? row.metadata.dashboards : [],
      invitedBy: typeof row.metadata.invitedBy === 'string' ? row.metadata.invitedBy : null,
      createdAt: row.createdAt.toISOString(),
      expiresAt: row.expiresAt.toISOString(),
    }));
  }

  /**
   * Withdraws a pending invitation: its link stops working at once (it is spent, so accepting it
   * answers TOKEN_INVALID like any used link). 404 for an id that is not a pending invitation of
   * this retailer (accepted, cancelled, expired, another retailer's).
   */
  async cancelInvite(principal: RetailerPrincipal, id: string, ctx: RequestContext): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const result = (await manager.query(
        `UPDATE one_time_tokens SET used_at = now()
          WHERE id = $1 AND purpose = 'invite' AND retailer_id = $2 AND used_at IS NULL AND expires_at > now()
          RETURNING email, metadata`,
        [id, principal.retailerId],
      )) as [Array<{ email: string; metadata: Record<string, unknown> }>, number];
      const [cancelled] = result[0];
      if (!cancelled) throw new ApiError(ErrorCode.NOT_FOUND, 'No pending invitation with this id.');
      await this.audit.record(
        {
          event: 'invite_cancelled',
          actorType: 'user',
          actorId: principal.userId,
          retailerId: principal.retailerId,
          impersonatorId: principal.impersonation?.adminId ?? null,
          status: 'success',
          metadata: { inviteId: id, email: cancelled.email, role: cancelled.metadata.role ?? null },
        },
        ctx,
        manager,
      );
    });
  }

  /** A role change applies to the member's next request on every instance (RoleChangesService). */
  async update(principal: RetailerPrincipal, id: string, dto: UpdateMemberDto, ctx: RequestContext) {
    if (dto.role === undefined && dto.dashboards === undefined) {
      throw ApiError.validation([{ field: 'role', message: 'give role or dashboards (or both)' }], 'Nothing to change.');
    }
    const { member, roleChanged } = await this.dataSource.transaction(async (manager) => {
      await this.lockTeam(manager, principal.retailerId);
      const member = await this.findMember(manager, principal.retailerId, id);
      const before = { role: member.role, dashboards: member.dashboards };
      const roleChanged = dto.role !== undefined && dto.role !== member.role;
      if (roleChanged) {
        await this.assertAssignable(principal, dto.role!, manager);
        await this.assertOwnerChangeAllowed(manager, principal, member);
        member.role = dto.role!;
        member.roleChangedAt = new Date();
      }
      if (dto.dashboards !== undefined) member.dashboards = [...new Set(dto.dashboards)];
      await manager.getRepository(User).update(
        { id: member.id },
        roleChanged ? { role: member.role, roleChangedAt: member.roleChangedAt, dashboards: member.dashboards } : { dashboards: member.dashboards },
      );
      await this.audit.record(
        {
          // Dashboards-only edits get their own event, so a search for role changes finds only those.
          event: roleChanged ? 'member_role_changed' : 'member_dashboards_changed',
          actorType: 'user',
          actorId: principal.userId,
          retailerId: principal.retailerId,
          status: 'success',
          metadata: { memberId: member.id, before, after: { role: member.role, dashboards: member.dashboards } },
        },
        ctx,
        manager,
      );
      return { member, roleChanged };
    });
    if (roleChanged) {
      const { permissions } = await this.roles.resolve(member.retailerId, member.role);
      await this.roleChanges.publish({ changed: [{ userId: member.id, role: member.role, permissions }] });
    }
    return memberView(member);
  }

  /**
   * Revokes the member's sessions (in Postgres and on every instance) before deleting the user,
   * whose sessions the delete cascades away; the `member_removed` audit row is what instances
   * reload to keep refusing the member's tokens (RoleChangesService). Deleting, rather than
   * marking removed, frees the email for a later invitation or registration.
   */
  async remove(principal: RetailerPrincipal, id: string, ctx: RequestContext): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await this.lockTeam(manager, principal.retailerId);
      const member = await this.findMember(manager, principal.retailerId, id);
      await this.assertOwnerChangeAllowed(manager, principal, member);
      const live = await manager.getRepository(Session).find({ where: { userId: member.id, revokedAt: IsNull() }, select: { id: true } });
      const revoked = await this.sessions.revoke(
        live.map((s) => s.id),
        'member_removed',
        manager,
      );
      await this.audit.record(
        {
          event: 'member_removed',
          actorType: 'user',
          actorId: principal.userId,
          retailerId: principal.retailerId,
          status: 'success',
          metadata: { memberId: member.id, email: member.email, role: member.role, sessionsRevoked: revoked.length },
        },
        ctx,
        manager,
      );
      await manager.getRepository(User).delete({ id: member.id });
    });
    await this.roleChanges.publish({ removed: [id] });
  }

  /** The role exists for this retailer, and only an owner hands out `owner`. */
  private async assertAssignable(principal: RetailerPrincipal, role: string, manager?: EntityManager): Promise<void> {
    if (!(await this.roles.exists(principal.retailerId, role, manager))) {
      throw ApiError.validation([{ field: 'role', message: 'role must be a predefined role or a custom role of this retailer' }], 'Unknown role.');
    }
    if (role === 'owner' && principal.role !== 'owner') throw new ApiError(ErrorCode.FORBIDDEN, 'Only an owner can grant the owner role.');
  }

  /** Taking `owner` away (demotion or removal): only by an owner, and never from the last one. */
  private async assertOwnerChangeAllowed(manager: EntityManager, principal: RetailerPrincipal, member: User): Promise<void> {
    if (member.role !== 'owner') return;
    if (principal.role !== 'owner') throw new ApiError(ErrorCode.FORBIDDEN, 'Only an owner can change or remove an owner.');
    const otherOwners = await manager.getRepository(User).countBy({ retailerId: member.retailerId, role: 'owner', status: 'active', id: Not(member.id) });
    if (otherOwners === 0) throw new ApiError(ErrorCode.CONFLICT, 'The last owner can be neither removed nor demoted; make someone else owner first.');
  }

  private async findMember(manager: EntityManager, retailerId: string, id: string): Promise<User> {
    const member = await manager.getRepository(User).findOneBy({ id, retailerId });
    if (!member) throw new ApiError(ErrorCode.NOT_FOUND, 'No such member.');
    return member;
  }

  private async lockTeam(manager: EntityManager, retailerId: string): Promise<void> {
    await manager.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`team:${retailerId}`]);
  }
}
