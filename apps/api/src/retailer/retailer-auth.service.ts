import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { normalizeEmail } from '@app/common/crypto';
import { ApiError, ErrorCode } from '@app/common/errors';
import type { RequestContext } from '@app/common/http';
import { checkPasswordPolicy, exceedsBcryptLimit, PasswordHasher } from '@app/common/passwords';
import { EntityRows, isUniqueViolation, PreparedStatement, Retailer, runPrepared, User } from '@app/database';
import { AuditService } from '../audit/audit.service';
import { MailOutboxService } from '../mail/mail-outbox.service';
import { OneTimeTokenService } from '../one-time-tokens/one-time-token.service';
import { RateLimitService } from '../rate-limit/rate-limit.service';
import { RoleResolver } from '../roles/role-resolver';
import { ImpersonationService } from '../sessions/impersonation.service';
import { IssuedSession, SessionService } from '../sessions/session.service';
import { ChangePasswordDto, LoginDto, RegisterDto, ResetPasswordDto } from './dto/auth.dto';
import { MfaChallengeAnswer, MfaService } from './mfa/mfa.service';
import { RetailerPrincipal } from './retailer-principal';
import { retailerMails } from './retailer-mails';
import { publicRetailer, publicUser } from './retailer-views';

export interface SignedIn {
  issued: IssuedSession;
  user: User;
}

/**
 * The Retailer module's use cases: register, sign in, refresh, sign out, sessions and password
 * recovery. Controllers stay thin; every rule of the contract lives here or below.
 */
@Injectable()
export class RetailerAuthService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly passwords: PasswordHasher,
    private readonly sessions: SessionService,
    private readonly limits: RateLimitService,
    private readonly audit: AuditService,
    private readonly oneTime: OneTimeTokenService,
    private readonly mail: MailOutboxService,
    private readonly mfa: MfaService,
    private readonly roles: RoleResolver,
    private readonly impersonations: ImpersonationService,
  ) {
    const users = new EntityRows(dataSource, User, 'u');
    this.loginLookup = {
      statement: {
        name: 'login_user_lookup',
        text: `SELECT ${users.columns}, r.status AS retailer_status FROM users u JOIN retailers r ON r.id = u.retailer_id WHERE u.email = $1`,
      },
      read: (row) => users.read(row),
    };
  }

  private readonly loginLookup: { statement: PreparedStatement; read(row: Record<string, unknown>): User };

  /** UserRegistersWithPasswordUseCase: the retailer and its owner, in one transaction. */
  async register(dto: RegisterDto, ctx: RequestContext) {
    await this.limits.consume('registerPerIp', ctx.ip);
    const email = normalizeEmail(dto.email);
    this.assertPolicy(dto.password, email, 'password');
    if (await this.dataSource.getRepository(User).existsBy({ email })) {
      throw new ApiError(ErrorCode.CONFLICT, 'An account with this email already exists.');
    }
    const passwordHash = await this.passwords.hash(dto.password);
    try {
      const { user, retailer } = await this.dataSource.transaction(async (manager) => {
        const retailer = await manager.getRepository(Retailer).save(manager.getRepository(Retailer).create({ name: dto.retailerName.trim() }));
        const user = await manager.getRepository(User).save(
          manager.getRepository(User).create({
            retailerId: retailer.id,
            email,
            name: dto.name.trim(),
            passwordHash,
            role: 'owner',
            passwordChangedAt: new Date(),
          }),
        );
        await this.audit.record(
          { event: 'user_registered', actorType: 'user', actorId: user.id, retailerId: retailer.id, status: 'success' },
          ctx,
          manager,
        );
        return { user, retailer };
      });
      return { user: publicUser(user), retailer: publicRetailer(retailer) };
    } catch (err) {
      // Two registrations of one email racing: the unique index decides, the loser gets 409.
      if (isUniqueViolation(err)) throw new ApiError(ErrorCode.CONFLICT, 'An account with this email already exists.');
      throw err;
    }
  }

  async login(dto: LoginDto, ctx: RequestContext): Promise<SignedIn | MfaChallengeAnswer> {
    const email = normalizeEmail(dto.email);
    // The address's budget, the email's lock and the account, asked at once (one wait, not three).
    const [perIp, lock, account] = await Promise.allSettled([this.limits.consume('loginPerIp', ctx.ip), this.limits.assertLoginAllowed(email), this.findForLogin(email)]);
    if (perIp.status === 'rejected') throw perIp.reason;
    if (lock.status === 'rejected') {
      await this.audit.record({ event: 'login_failure', actorType: 'anonymous', status: 'failure', reason: ErrorCode.TOO_MANY_ATTEMPTS, metadata: { email } }, ctx);
      throw lock.reason;
    }
    if (account.status === 'rejected') throw account.reason;
    const found = account.value;
    const user = found?.user ?? null;
    // Always run bcrypt, even for an unknown email, so response time does not reveal accounts.
    const ok =
      user?.passwordHash && !exceedsBcryptLimit(dto.password)
        ? await this.passwords.verify(dto.password, user.passwordHash)
        : await this.passwords.verifyAgainstDummy(dto.password);
    if (!ok || !user) {
      await this.failLogin(email, user, ctx);
      throw new ApiError(ErrorCode.INVALID_CREDENTIALS);
    }
    if (user.status !== 'active' || found?.retailerStatus !== 'active') {
      await this.audit.record(
        { event: 'login_failure', actorType: 'user', actorId: user.id, retailerId: user.retailerId, status: 'failure', reason: ErrorCode.ACCOUNT_SUSPENDED },
        ctx,
      );
      throw new ApiError(ErrorCode.ACCOUNT_SUSPENDED);
    }
    if (this.passwords.needsRehash(user.passwordHash!)) {
      // The configured cost changed since this hash was made: upgrade it while we know the password.
      user.passwordHash = await this.passwords.hash(dto.password);
      await this.dataSource.getRepository(User).update({ id: user.id }, { passwordHash: user.passwordHash });
    }
    // The failure counter is cleared only when the whole sign-in succeeds (after the second factor).
    if (this.mfa.hasFactor(user)) return this.mfa.startChallenge(user, 'password', ctx);
    await this.limits.recordLoginSuccess(email);
    return this.completeSignIn(user, 'password', ctx);
  }

  /**
   * The end of every successful sign-in: a session, lastLoginAt, and the audit row. `details`
   * (e.g. an SSO provider and subject) go into that row's metadata.
   */
  async completeSignIn(
    user: User,
    method: 'password' | 'mfa' | 'magic_link' | 'bridge' | 'sso' | 'invite' | 'oauth',
    ctx: RequestContext,
    details: Record<string, unknown> = {},
  ): Promise<SignedIn> {
    const issued = await this.sessions.start(user, method, ctx);
    user.lastLoginAt = issued.session.createdAt; // stamped by the session's own statement
    await this.audit.record(
      { event: 'login_success', actorType: 'user', actorId: user.id, retailerId: user.retailerId, status: 'success', metadata: { ...details, method, sessionId: issued.session.id } },
      ctx,
    );
    return { issued, user };
  }

  async refresh(refreshToken: string, ctx: RequestContext): Promise<SignedIn> {
    const outcome = await this.sessions.refresh(refreshToken);
    if (outcome.kind === 'reuse') {
      const user = await this.dataSource.getRepository(User).findOneBy({ id: outcome.session.userId });
      await this.audit.record(
        {
          event: 'refresh_reuse_detected',
          actorType: 'user',
          actorId: outcome.session.userId,
          retailerId: outcome.session.retailerId,
          status: 'failure',
          reason: ErrorCode.TOKEN_REVOKED,
          metadata: { sessionId: outcome.session.id },
        },
        ctx,
      );
      if (user) await this.mail.enqueue(retailerMails.refreshReuse(user.email));
      throw new ApiError(ErrorCode.TOKEN_REVOKED);
    }
    const user = await this.dataSource.getRepository(User).findOneByOrFail({ id: outcome.issued.session.userId });
    if (outcome.kind === 'rotated') {
      await this.audit.record(
        { event: 'token_refreshed', actorType: 'user', actorId: user.id, retailerId: user.retailerId, status: 'success', metadata: { sessionId: outcome.issued.session.id } },
        ctx,
      );
    }
    return { issued: outcome.issued, user };
  }

  /** Refresh with only a live access token as Bearer: extends its session, revokes that access token. */
  async extend(principal: RetailerPrincipal, ctx: RequestContext): Promise<SignedIn> {
    // An impersonation ends when its token does: it cannot be turned into a retailer session.
    if (principal.impersonation) throw new ApiError(ErrorCode.FORBIDDEN, 'An impersonation cannot be extended or refreshed.');
    const issued = await this.sessions.extend(principal.sessionId, { jti: principal.jti, exp: principal.exp });
    const user = await this.dataSource.getRepository(User).findOneByOrFail({ id: principal.userId });
    await this.audit.record(
      { event: 'token_refreshed', actorType: 'user', actorId: user.id, retailerId: user.retailerId, status: 'success', metadata: { sessionId: principal.sessionId, via: 'access_token' } },
      ctx,
    );
    return { issued, user };
  }

  async logout(principal: RetailerPrincipal, ctx: RequestContext): Promise<void> {
    if (principal.impersonation) {
      // Signing out of an impersonation ends it (the owner's own sessions are not the admin's to end).
      await this.impersonations.finish(principal.impersonation.id, { adminId: principal.impersonation.adminId, via: 'logout' }, ctx);
      return;
    }
    await this.sessions.revoke([principal.sessionId], 'logout');
    await this.audit.record(
      { event: 'logout', actorType: 'user', actorId: principal.userId, retailerId: principal.retailerId, status: 'success', metadata: { sessionId: principal.sessionId } },
      ctx,
    );
  }

  async me(principal: RetailerPrincipal) {
    const user = await this.dataSource.getRepository(User).findOne({ where: { id: principal.userId }, relations: { retailer: true } });
    if (!user || !user.retailer) throw new ApiError(ErrorCode.TOKEN_REVOKED);
    const { impersonation } = principal;
    if (impersonation) {
      return {
        user: publicUser(user),
        retailer: publicRetailer(user.retailer),
        role: principal.role,
        permissions: principal.permissions,
        impersonatedBy: { adminId: impersonation.adminId, email: impersonation.adminEmail, impersonationId: impersonation.id, fullAccess: impersonation.fullAccess, reason: impersonation.reason },
      };
    }
    const { role, permissions } = await this.roles.resolve(user.retailerId, user.role);
    return { user: publicUser(user), retailer: publicRetailer(user.retailer), role, permissions };
  }

  async listSessions(principal: RetailerPrincipal) {
    const sessions = await this.sessions.listLive(principal.userId);
    return sessions.map((s) => ({
      id: s.id,
      createdAt: s.createdAt.toISOString(),
      lastSeenAt: s.lastSeenAt.toISOString(),
      ip: s.ip,
      device: s.device,
      current: s.id === principal.sessionId,
    }));
  }

  async revokeSession(principal: RetailerPrincipal, sessionId: string, ctx: RequestContext): Promise<void> {
    const session = await this.sessions.findLive(sessionId, principal.userId);
    if (!session) throw new ApiError(ErrorCode.NOT_FOUND, 'No such session.');
    await this.sessions.revoke([session.id], 'terminated');
    await this.audit.record(
      { event: 'session_revoked', actorType: 'user', actorId: principal.userId, retailerId: principal.retailerId, status: 'success', metadata: { sessionId } },
      ctx,
    );
  }

  async revokeOtherSessions(principal: RetailerPrincipal, ctx: RequestContext): Promise<{ revoked: number }> {
    const ids = await this.sessions.revokeAllForUser(principal.userId, 'terminated', principal.sessionId);
    await this.audit.record(
      { event: 'session_revoked', actorType: 'user', actorId: principal.userId, retailerId: principal.retailerId, status: 'success', metadata: { sessionIds: ids, scope: 'others' } },
      ctx,
    );
    return { revoked: ids.length };
  }

  /** Same answer, and about the same work, whether or not the email has an account. */
  async forgotPassword(rawEmail: string, ctx: RequestContext): Promise<void> {
    const email = normalizeEmail(rawEmail);
    await this.limits.consume('forgotPerIp', ctx.ip);
    await this.limits.consume('forgotPerEmail', email);
    const found = await this.findForLogin(email);
    const user = found?.user ?? null;
    if (!user || user.status !== 'active' || found?.retailerStatus !== 'active') {
      await this.audit.record(
        { event: 'password_reset_requested', actorType: 'anonymous', status: 'failure', reason: 'unknown_or_inactive_account', metadata: { email } },
        ctx,
      );
      return;
    }
    await this.dataSource.transaction(async (manager) => {
      const token = await this.oneTime.issue('password_reset', { userId: user.id, retailerId: user.retailerId, email, ttlMs: this.config.auth.resetLinkTtlMs }, manager);
      const link = `${this.config.http.publicBaseUrl}/reset-password?token=${encodeURIComponent(token)}`;
      await this.mail.enqueue(retailerMails.passwordReset(email, link, Math.round(this.config.auth.resetLinkTtlMs / 3_600_000)), manager);
      await this.audit.record({ event: 'password_reset_requested', actorType: 'user', actorId: user.id, retailerId: user.retailerId, status: 'success' }, ctx, manager);
    });
    this.mail.nudge();
  }

  async resetPassword(dto: ResetPasswordDto, ctx: RequestContext): Promise<void> {
    // The policy is checked before the link is consumed, so a rejected password does not burn it.
    const pending = await this.oneTime.peek('password_reset', dto.token);
    this.assertPolicy(dto.password, pending?.email ?? undefined, 'password');
    const passwordHash = await this.passwords.hash(dto.password);
    const user = await this.dataSource.transaction(async (manager) => {
      const token = await this.oneTime.consume('password_reset', dto.token, { revealExpiry: true, manager });
      const user = await manager.getRepository(User).findOneBy({ id: token.userId! });
      if (!user) throw new ApiError(ErrorCode.TOKEN_INVALID);
      await manager.getRepository(User).update({ id: user.id }, { passwordHash, passwordChangedAt: new Date() });
      await this.oneTime.retireAll('password_reset', user.id, manager);
      await this.mail.enqueue(retailerMails.passwordChanged(user.email, 'reset'), manager);
      await this.audit.record({ event: 'password_reset_completed', actorType: 'user', actorId: user.id, retailerId: user.retailerId, status: 'success' }, ctx, manager);
      return user;
    });
    this.mail.nudge();
    await this.sessions.revokeAllForUser(user.id, 'password_reset');
    await this.limits.recordLoginSuccess(user.email);
  }

  async changePassword(principal: RetailerPrincipal, dto: ChangePasswordDto, ctx: RequestContext): Promise<void> {
    const user = await this.dataSource.getRepository(User).findOneBy({ id: principal.userId });
    if (!user) throw new ApiError(ErrorCode.TOKEN_REVOKED);
    await this.limits.assertLoginAllowed(user.email);
    const ok = user.passwordHash && !exceedsBcryptLimit(dto.currentPassword) ? await this.passwords.verify(dto.currentPassword, user.passwordHash) : await this.passwords.verifyAgainstDummy(dto.currentPassword);
    if (!ok) {
      await this.failLogin(user.email, user, ctx, 'password_change_failure');
      throw new ApiError(ErrorCode.INVALID_CREDENTIALS, 'The current password is incorrect.');
    }
    this.assertPolicy(dto.newPassword, user.email, 'newPassword');
    const passwordHash = await this.passwords.hash(dto.newPassword);
    await this.dataSource.transaction(async (manager) => {
      await manager.getRepository(User).update({ id: user.id }, { passwordHash, passwordChangedAt: new Date() });
      await this.mail.enqueue(retailerMails.passwordChanged(user.email, 'change'), manager);
      await this.audit.record({ event: 'password_changed', actorType: 'user', actorId: user.id, retailerId: user.retailerId, status: 'success' }, ctx, manager);
    });
    this.mail.nudge();
    await this.sessions.revokeAllForUser(user.id, 'password_changed', principal.sessionId);
  }

  private assertPolicy(password: string, email: string | undefined, field: string): void {
    const details = checkPasswordPolicy(password, {
      minLength: this.config.auth.passwordMinLength,
      requireClasses: this.config.auth.passwordRequireClasses,
      email,
      field,
    });
    if (details.length) throw ApiError.validation(details, 'The password does not meet the policy.');
  }

  /**
   * The user with this email and the status of their retailer, in one statement without the
   * ORM's query building (the login path shares the event loop with every guarded request).
   */
  private async findForLogin(email: string): Promise<{ user: User; retailerStatus: string } | null> {
    const [row] = await runPrepared<Record<string, unknown>>(this.dataSource, this.loginLookup.statement, [email]);
    return row ? { user: this.loginLookup.read(row), retailerStatus: row.retailer_status as string } : null;
  }

  private async failLogin(email: string, user: User | null, ctx: RequestContext, event = 'login_failure'): Promise<void> {
    const { locked } = await this.limits.recordLoginFailure(email);
    await this.audit.record(
      user
        ? { event, actorType: 'user', actorId: user.id, retailerId: user.retailerId, status: 'failure', reason: ErrorCode.INVALID_CREDENTIALS }
        : { event, actorType: 'anonymous', status: 'failure', reason: ErrorCode.INVALID_CREDENTIALS, metadata: { email } },
      ctx,
    );
    if (locked) {
      await this.audit.record(
        { event: 'account_locked', actorType: user ? 'user' : 'anonymous', actorId: user?.id ?? null, retailerId: user?.retailerId ?? null, status: 'failure', reason: ErrorCode.TOO_MANY_ATTEMPTS, metadata: { email } },
        ctx,
      );
    }
  }
}
