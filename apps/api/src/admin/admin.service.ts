import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull } from 'typeorm';
import { ApiError, ErrorCode } from '@app/common/errors';
import type { RequestContext } from '@app/common/http';
import { Admin, Impersonation, Retailer, Session, User } from '@app/database';
import { ApiKeyService } from '../api-key/api-key.service';
import { AuditService } from '../audit/audit.service';
import { MailOutboxService } from '../mail/mail-outbox.service';
import { RateLimitService } from '../rate-limit/rate-limit.service';
import { ImpersonationService } from '../sessions/impersonation.service';
import { SessionService } from '../sessions/session.service';
import { adminMails } from './admin-mails';
import { AdminPrincipal } from './admin-principal';
import { ImpersonateDto, RetailerSearchDto } from './admin.dto';
import { isUuid } from '@app/common/crypto';

/** Postgres's text form of a timestamptz, microseconds included (a JS Date would drop them). */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:\d{2})?|Z)$/;

interface Cursor {
  createdAt: string;
  id: string;
}

const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');

function decodeCursor(raw: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Cursor;
    if (typeof c.createdAt === 'string' && TIMESTAMP.test(c.createdAt) && typeof c.id === 'string' && isUuid(c.id)) return c;
  } catch {
    // fall through
  }
  throw ApiError.validation([{ field: 'cursor', message: 'cursor is not one this service returned' }]);
}


/** What the admin console does to merchants: find, inspect, suspend, unlock, impersonate. */
@Injectable()
export class AdminService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly sessions: SessionService,
    private readonly impersonations: ImpersonationService,
    private readonly apiKeys: ApiKeyService,
    private readonly limits: RateLimitService,
    private readonly mail: MailOutboxService,
  ) {}

  async me(principal: AdminPrincipal) {
    const admin = await this.dataSource.getRepository(Admin).findOneByOrFail({ id: principal.adminId });
    return {
      admin: {
        id: admin.id,
        email: admin.email,
        name: admin.name,
        totpEnabled: Boolean(admin.totpEnabledAt),
        lastLoginAt: admin.lastLoginAt?.toISOString() ?? null,
        createdAt: admin.createdAt.toISOString(),
      },
      fullAccess: principal.fullAccess,
      ...(principal.impersonatingRetailerId ? { impersonating: principal.impersonatingRetailerId } : {}),
    };
  }

  /** Newest first; `q` matches a retailer id exactly, or part of its name or of a user email. */
  async searchRetailers(query: RetailerSearchDto) {
    const limit = query.limit ?? 25;
    const qb = this.dataSource.getRepository(Retailer).createQueryBuilder('r');
    if (query.q) {
      const like = `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const byId = isUuid(query.q) ? 'r.id = :id OR ' : '';
      qb.andWhere(`(${byId}r.name ILIKE :like OR EXISTS (SELECT 1 FROM users u WHERE u.retailer_id = r.id AND u.email ILIKE :like))`, { like, id: query.q });
    }
    if (query.status) qb.andWhere('r.status = :status', { status: query.status });
    if (query.cursor) {
      const c = decodeCursor(query.cursor);
      qb.andWhere('(r.created_at, r.id) < (CAST(:createdAt AS timestamptz), CAST(:cid AS uuid))', { createdAt: c.createdAt, cid: c.id });
    }
    const rows = await qb.orderBy('r.created_at', 'DESC').addOrderBy('r.id', 'DESC').take(limit + 1).getMany();
    const page = rows.slice(0, limit);
    const counts = page.length
      ? ((await this.dataSource.query(
          `SELECT retailer_id, count(*)::int AS users, array_agg(email ORDER BY created_at) FILTER (WHERE role = 'owner') AS owners
             FROM users WHERE retailer_id = ANY($1::uuid[]) GROUP BY retailer_id`,
          [page.map((r) => r.id)],
        )) as Array<{ retailer_id: string; users: number; owners: string[] | null }>)
      : [];
    const byRetailer = new Map(counts.map((c) => [c.retailer_id, c]));
    const last = page[page.length - 1];
    // The cursor keeps the row's exact timestamp: retailers created within one millisecond
    // (one transaction, a bulk import) must not fall between two pages.
    const lastCreatedAt = rows.length > limit && last ? ((await this.dataSource.query(`SELECT created_at::text AS t FROM retailers WHERE id = $1`, [last.id])) as Array<{ t: string }>)[0]?.t : undefined;
    return {
      items: page.map((r) => ({
        ...this.retailerView(r),
        userCount: byRetailer.get(r.id)?.users ?? 0,
        ownerEmails: byRetailer.get(r.id)?.owners ?? [],
      })),
      nextCursor: lastCreatedAt && last ? encodeCursor({ createdAt: lastCreatedAt, id: last.id }) : null,
    };
  }

  async retailerDetail(id: string) {
    const retailer = await this.findRetailer(id);
    const users = await this.dataSource.getRepository(User).find({ where: { retailerId: id }, order: { createdAt: 'ASC' } });
    const [keys] = (await this.dataSource.query(
      `SELECT count(*) FILTER (WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()))::int AS active, count(*)::int AS total FROM api_keys WHERE retailer_id = $1`,
      [id],
    )) as Array<{ active: number; total: number }>;
    const liveSessions = await this.dataSource.getRepository(Session).count({ where: { retailerId: id, revokedAt: IsNull() } });
    const impersonations = await this.dataSource.getRepository(Impersonation).find({ where: { retailerId: id }, order: { createdAt: 'DESC' }, take: 10 });
    return {
      retailer: { ...this.retailerView(retailer), ipAllowlistEnabled: retailer.ipAllowlistEnabled },
      users: users.map((u) => ({
        id: u.id,
        email: u.email,
        name: u.name,
        role: u.role,
        status: u.status,
        mfaEnabled: Boolean(u.totpEnabledAt || u.emailOtpEnabledAt),
        lastLoginAt: u.lastLoginAt?.toISOString() ?? null,
        createdAt: u.createdAt.toISOString(),
      })),
      apiKeys: { active: keys?.active ?? 0, total: keys?.total ?? 0 },
      liveSessions,
      recentImpersonations: impersonations.map((i) => this.impersonationView(i)),
    };
  }

  /**
   * Suspends a retailer: new sign-ins answer ACCOUNT_SUSPENDED, every session and impersonation is
   * revoked and every key refused, on every instance at once. Suspending twice changes nothing.
   */
  async suspend(admin: AdminPrincipal, id: string, reason: string | undefined, ctx: RequestContext) {
    await this.findRetailer(id);
    await this.dataSource.query(`UPDATE retailers SET status = 'suspended', suspended_at = COALESCE(suspended_at, now()), updated_at = now() WHERE id = $1`, [id]);
    // After the status commit: a sign-in racing the suspension either waited for it and was
    // refused (SessionService.start), or committed first and is in this list.
    const live = await this.dataSource.getRepository(Session).find({ where: { retailerId: id, revokedAt: IsNull() }, select: { id: true } });
    const revoked = await this.sessions.revoke(
      live.map((s) => s.id),
      'suspended',
    );
    const ended = await this.impersonations.end({ retailerId: id });
    await this.apiKeys.invalidateRetailer(id);
    await this.audit.record(
      { event: 'retailer_suspended', actorType: 'admin', actorId: admin.adminId, retailerId: id, status: 'success', reason: reason ?? null, metadata: { sessionsRevoked: revoked.length, impersonationsEnded: ended.length } },
      ctx,
    );
    return { retailer: this.retailerView(await this.findRetailer(id)), sessionsRevoked: revoked.length };
  }

  /** Lifts a suspension: keys work again; revoked sessions stay revoked (users sign in again). */
  async unsuspend(admin: AdminPrincipal, id: string, ctx: RequestContext) {
    await this.findRetailer(id);
    await this.dataSource.query(`UPDATE retailers SET status = 'active', suspended_at = NULL, updated_at = now() WHERE id = $1`, [id]);
    await this.apiKeys.invalidateRetailer(id);
    await this.audit.record({ event: 'retailer_unsuspended', actorType: 'admin', actorId: admin.adminId, retailerId: id, status: 'success' }, ctx);
    return { retailer: this.retailerView(await this.findRetailer(id)) };
  }

  async unlockUser(admin: AdminPrincipal, userId: string, ctx: RequestContext) {
    const user = await this.dataSource.getRepository(User).findOneBy({ id: userId });
    if (!user) throw new ApiError(ErrorCode.NOT_FOUND, 'No such user.');
    await this.limits.unlock(user.email);
    await this.audit.record({ event: 'user_unlocked', actorType: 'admin', actorId: admin.adminId, retailerId: user.retailerId, status: 'success', metadata: { userId } }, ctx);
    return { unlocked: true };
  }

  /**
   * An admin token with `act.sub` for the retailer, at most 1 h, full access only when the admin
   * has it and did not ask for read-only. The retailer's owners are mailed at once.
   */
  async impersonate(admin: AdminPrincipal, dto: ImpersonateDto, ctx: RequestContext) {
    if (admin.impersonatingRetailerId) throw new ApiError(ErrorCode.FORBIDDEN, 'An impersonation token cannot start another impersonation.');
    const retailer = await this.findRetailer(dto.retailerId);
    if (retailer.status !== 'active') throw new ApiError(ErrorCode.ACCOUNT_SUSPENDED, 'This retailer is suspended.');
    const owners = await this.dataSource.getRepository(User).find({ where: { retailerId: retailer.id, role: 'owner', status: 'active' }, order: { createdAt: 'ASC' } });
    if (!owners.length) throw new ApiError(ErrorCode.CONFLICT, 'This retailer has no active owner to act as.');
    const fullAccess = admin.fullAccess && !dto.readOnly;
    const started = await this.dataSource.transaction(async (manager) => {
      const result = await this.impersonations.start({ id: admin.adminId, fullAccess }, { retailerId: retailer.id, actingUserId: owners[0].id, reason: dto.reason }, manager);
      for (const owner of owners) {
        await this.mail.enqueue(adminMails.impersonationStarted(owner.email, retailer.name, admin.email, dto.reason, fullAccess, result.access.expiresAt), manager);
      }
      await this.audit.record(
        {
          event: 'impersonation_started',
          actorType: 'admin',
          actorId: admin.adminId,
          retailerId: retailer.id,
          impersonatorId: admin.adminId,
          status: 'success',
          reason: dto.reason,
          metadata: { impersonationId: result.impersonation.id, fullAccess, expiresAt: result.access.expiresAt },
        },
        ctx,
        manager,
      );
      return result;
    });
    this.mail.nudge();
    return { id: started.impersonation.id, token: started.access.token, expiresAt: started.access.expiresAt, retailerId: retailer.id, fullAccess };
  }

  /** Ends an impersonation: its token is TOKEN_REVOKED everywhere within a second. */
  async endImpersonation(admin: AdminPrincipal, id: string, ctx: RequestContext) {
    const impersonation = await this.dataSource.getRepository(Impersonation).findOneBy({ id });
    if (!impersonation) throw new ApiError(ErrorCode.NOT_FOUND, 'No such impersonation.');
    if (impersonation.adminId !== admin.adminId && !admin.fullAccess) throw new ApiError(ErrorCode.FORBIDDEN, 'Only its admin or a full-access admin can end this impersonation.');
    await this.impersonations.finish(id, { adminId: admin.adminId, via: 'delete' }, ctx);
    return { ended: true };
  }

  private async findRetailer(id: string): Promise<Retailer> {
    const retailer = await this.dataSource.getRepository(Retailer).findOneBy({ id });
    if (!retailer) throw new ApiError(ErrorCode.NOT_FOUND, 'No such retailer.');
    return retailer;
  }

  private retailerView(r: Retailer) {
    return { id: r.id, name: r.name, status: r.status, suspendedAt: r.suspendedAt?.toISOString() ?? null, createdAt: r.createdAt.toISOString() };
  }

  private impersonationView(i: Impersonation) {
    return {
      id: i.id,
      adminId: i.adminId,
      reason: i.reason,
      fullAccess: i.fullAccess,
      createdAt: i.createdAt.toISOString(),
      expiresAt: i.expiresAt.toISOString(),
      endedAt: i.revokedAt?.toISOString() ?? null,
    };
  }
}
