import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { decryptSecret, encryptSecret, normalizeEmail, sha256Hex } from '@app/common/crypto';
import { ApiError, ErrorCode } from '@app/common/errors';
import type { RequestContext } from '@app/common/http';
import { Admin } from '@app/database';
import { AuditService } from '../audit/audit.service';
import { MailOutboxService } from '../mail/mail-outbox.service';
import { OneTimeTokenService } from '../one-time-tokens/one-time-token.service';
import { RateLimitService } from '../rate-limit/rate-limit.service';
import { MFA_MAX_ATTEMPTS } from '../retailer/mfa/mfa.service';
import { totp } from '../retailer/mfa/totp';
import { ImpersonationService } from '../sessions/impersonation.service';
import { SessionService } from '../sessions/session.service';
import { ADMIN_ACCESS_COOKIE } from '../tokens/cookie-names';
import { CSRF_COOKIE, issueCsrfCookie } from '../tokens/csrf';
import { TokenService } from '../tokens/token.service';
import { adminMails } from './admin-mails';
import { AdminPrincipal } from './admin-principal';
import { clearCookie, setCookie, type HttpResponse } from '@app/common/http';

export interface AdminSignedIn {
  token: string;
  expiresAt: string;
}

export interface AdminMfaChallenge {
  mfaRequired: true;
  mfaToken: string;
  methods: ['totp'];
}

/** Lockout counters of admins live apart from retailer users' (one email may be both). */
const lockKey = (email: string) => `admin:${email}`;

/**
 * Admin sign-in: a single-use emailed link, then TOTP when the admin enrolled it. No passwords:
 * an admin account is only as reachable as its mailbox and authenticator.
 */
@Injectable()
export class AdminAuthService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly oneTime: OneTimeTokenService,
    private readonly mail: MailOutboxService,
    private readonly limits: RateLimitService,
    private readonly audit: AuditService,
    private readonly tokens: TokenService,
    private readonly sessions: SessionService,
    private readonly impersonations: ImpersonationService,
  ) {}

  /** Same answer, and about the same work, whether or not the email belongs to an admin. */
  async requestMagicLink(rawEmail: string, ctx: RequestContext): Promise<void> {
    const email = normalizeEmail(rawEmail);
    await this.limits.consume('magicLinkPerIp', ctx.ip);
    await this.limits.consume('magicLinkPerEmail', lockKey(email));
    const admin = await this.dataSource.getRepository(Admin).findOneBy({ email });
    if (!admin || admin.status !== 'active') {
      await this.audit.record({ event: 'admin_magic_link_requested', actorType: 'anonymous', status: 'failure', reason: 'unknown_or_inactive_admin', metadata: { email } }, ctx);
      return;
    }
    await this.dataSource.transaction(async (manager) => {
      const token = await this.oneTime.issue('admin_magic_link', { userId: admin.id, email, ttlMs: this.config.auth.magicLinkTtlMs }, manager);
      const link = `${this.config.http.publicBaseUrl}/admin/sign-in?token=${encodeURIComponent(token)}`;
      await this.mail.enqueue(adminMails.magicLink(email, link, Math.round(this.config.auth.magicLinkTtlMs / 60_000)), manager);
      await this.audit.record({ event: 'admin_magic_link_requested', actorType: 'admin', actorId: admin.id, status: 'success' }, ctx, manager);
    });
    this.mail.nudge();
  }

  /** Consumes the link: an admin token, or the TOTP challenge when the admin enrolled TOTP. */
  async verifyMagicLink(token: string, ctx: RequestContext, res: HttpResponse): Promise<AdminSignedIn | AdminMfaChallenge> {
    await this.limits.consume('magicLinkPerIp', ctx.ip);
    let adminId: string | null;
    try {
      adminId = (await this.oneTime.consume('admin_magic_link', token)).userId;
    } catch (err) {
      await this.audit.record({ event: 'admin_login_failure', actorType: 'anonymous', status: 'failure', reason: (err as ApiError).code ?? ErrorCode.TOKEN_INVALID }, ctx);
      throw err;
    }
    const admin = await this.activeAdmin(adminId!, ctx);
    await this.limits.assertLoginAllowed(lockKey(admin.email));
    if (admin.totpEnabledAt) {
      const mfaToken = await this.oneTime.issue('admin_mfa', { userId: admin.id, email: admin.email, ttlMs: this.config.auth.mfaChallengeTtlMs, metadata: { attempts: 0 } });
      await this.audit.record({ event: 'admin_mfa_challenge', actorType: 'admin', actorId: admin.id, status: 'success' }, ctx);
      return { mfaRequired: true, mfaToken, methods: ['totp'] };
    }
    return this.signIn(admin, 'magic_link', ctx, res);
  }

  /**
   * Answers the TOTP challenge. Each attempt is reserved atomically before the code is checked,
   * so at most MFA_MAX_ATTEMPTS codes are ever tried against one challenge, however many race.
   */
  async verifyMfa(mfaToken: string, code: string, ctx: RequestContext, res: HttpResponse): Promise<AdminSignedIn> {
    await this.limits.consume('mfaPerIp', ctx.ip);
    if (typeof mfaToken !== 'string' || mfaToken.length > 200) throw new ApiError(ErrorCode.TOKEN_INVALID);
    const reserved = (await this.dataSource.query(
      `UPDATE one_time_tokens
          SET metadata = jsonb_set(metadata, '{attempts}', to_jsonb(COALESCE((metadata->>'attempts')::int, 0) + 1))
        WHERE token_hash = $1 AND purpose = 'admin_mfa' AND used_at IS NULL AND expires_at > now()
          AND COALESCE((metadata->>'attempts')::int, 0) < $2
        RETURNING id, user_id, (metadata->>'attempts')::int AS attempts`,
      [sha256Hex(mfaToken), MFA_MAX_ATTEMPTS],
    )) as [Array<{ id: string; user_id: string; attempts: number }>, number];
    const challenge = reserved[0][0];
    if (!challenge) throw new ApiError(ErrorCode.TOKEN_INVALID, 'The challenge is invalid, used or expired.');
    const admin = await this.activeAdmin(challenge.user_id, ctx);
    await this.limits.assertLoginAllowed(lockKey(admin.email));
    const secret = await this.totpSecret(admin.id);
    const step = secret ? await totp.verify(secret, code) : null;
    const fresh = step !== null && (await this.claimStep(admin.id, step));
    if (!fresh) {
      if (challenge.attempts >= MFA_MAX_ATTEMPTS) await this.dataSource.query(`UPDATE one_time_tokens SET used_at = now() WHERE id = $1 AND used_at IS NULL`, [challenge.id]);
      await this.limits.recordLoginFailure(lockKey(admin.email));
      await this.audit.record({ event: 'admin_login_failure', actorType: 'admin', actorId: admin.id, status: 'failure', reason: ErrorCode.MFA_INVALID_CODE }, ctx);
      throw new ApiError(ErrorCode.MFA_INVALID_CODE);
    }
    const used = (await this.dataSource.query(`UPDATE one_time_tokens SET used_at = now() WHERE id = $1 AND used_at IS NULL RETURNING id`, [challenge.id])) as [unknown[], number];
    if (!used[0].length) throw new ApiError(ErrorCode.TOKEN_INVALID, 'The challenge is invalid, used or expired.');
    await this.limits.recordLoginSuccess(lockKey(admin.email));
    return this.signIn(admin, 'totp', ctx, res);
  }

  async logout(admin: AdminPrincipal, ctx: RequestContext, res: HttpResponse): Promise<void> {
    if (admin.impersonatingRetailerId) {
      // Signing out with an impersonation token ends the impersonation (its sid).
      await this.impersonations.finish(admin.sessionId, { adminId: admin.adminId, via: 'admin_logout' }, ctx);
    }
    await this.sessions.revokeToken(admin.jti, admin.exp, 'admin_logout');
    await this.audit.record({ event: 'admin_logout', actorType: 'admin', actorId: admin.adminId, status: 'success' }, ctx);
    const base = { httpOnly: true, sameSite: 'lax' as const, secure: this.config.http.cookieSecure, path: '/' };
    clearCookie(res, ADMIN_ACCESS_COOKIE, base);
    clearCookie(res, CSRF_COOKIE, { ...base, httpOnly: false });
  }

  /** A new TOTP secret, inactive until `enableTotp` sees a first code. */
  async setupTotp(admin: AdminPrincipal) {
    const secret = totp.newSecret();
    await this.dataSource.getRepository(Admin).update({ id: admin.adminId }, { totpPendingSecret: this.seal(admin.adminId, secret) });
    const otpauthUri = totp.uri(secret, `${this.config.auth.totpIssuer} Admin`, admin.email);
    return { secret, otpauthUri, qrCodeDataUrl: await totp.qrDataUrl(otpauthUri) };
  }

  async enableTotp(admin: AdminPrincipal, code: string, ctx: RequestContext): Promise<{ enabled: true }> {
    await this.limits.assertLoginAllowed(lockKey(admin.email));
    const row = await this.dataSource.getRepository(Admin).findOne({ where: { id: admin.adminId }, select: { id: true, totpPendingSecret: true } });
    const pending = row?.totpPendingSecret ? this.unseal(admin.adminId, row.totpPendingSecret) : null;
    const step = pending ? await totp.verify(pending, code) : null;
    if (step === null) {
      await this.limits.recordLoginFailure(lockKey(admin.email));
      throw new ApiError(ErrorCode.MFA_INVALID_CODE);
    }
    await this.dataSource.getRepository(Admin).update(
      { id: admin.adminId },
      { totpSecret: row!.totpPendingSecret, totpPendingSecret: null, totpEnabledAt: new Date(), totpLastStep: String(step) },
    );
    await this.audit.record({ event: 'admin_mfa_enabled', actorType: 'admin', actorId: admin.adminId, status: 'success', metadata: { method: 'totp' } }, ctx);
    return { enabled: true };
  }

  private async signIn(admin: Admin, method: 'magic_link' | 'totp', ctx: RequestContext, res: HttpResponse): Promise<AdminSignedIn> {
    const access = this.tokens.sign('admin', { sub: admin.id, fullAccess: admin.fullAccess, sid: randomUUID() }, { ttlMs: this.config.auth.accessTokenTtlMs });
    await this.dataSource.getRepository(Admin).update({ id: admin.id }, { lastLoginAt: new Date() });
    await this.audit.record({ event: 'admin_login_success', actorType: 'admin', actorId: admin.id, status: 'success', metadata: { method } }, ctx);
    const maxAge = Math.max(0, access.exp * 1000 - Date.now());
    setCookie(res, ADMIN_ACCESS_COOKIE, access.token, { httpOnly: true, sameSite: 'lax', secure: this.config.http.cookieSecure, path: '/', maxAge });
    issueCsrfCookie(res, this.config.http.cookieSecure, maxAge);
    return { token: access.token, expiresAt: access.expiresAt };
  }

  private async activeAdmin(id: string, ctx: RequestContext): Promise<Admin> {
    const admin = await this.dataSource.getRepository(Admin).findOneBy({ id });
    if (!admin) throw new ApiError(ErrorCode.TOKEN_INVALID);
    if (admin.status !== 'active') {
      await this.audit.record({ event: 'admin_login_failure', actorType: 'admin', actorId: admin.id, status: 'failure', reason: ErrorCode.ACCOUNT_SUSPENDED }, ctx);
      throw new ApiError(ErrorCode.ACCOUNT_SUSPENDED);
    }
    return admin;
  }

  private async totpSecret(adminId: string): Promise<string | null> {
    const row = await this.dataSource.getRepository(Admin).findOne({ where: { id: adminId }, select: { id: true, totpSecret: true } });
    return row?.totpSecret ? this.unseal(adminId, row.totpSecret) : null;
  }

  /** A TOTP code is accepted once: its time step must be newer than the last accepted one (any instance). */
  private async claimStep(adminId: string, step: number): Promise<boolean> {
    const rows = (await this.dataSource.query(
      `UPDATE admins SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2) RETURNING id`,
      [adminId, step],
    )) as [unknown[], number];
    return rows[0].length === 1;
  }

  private seal(adminId: string, secret: string): string {
    return encryptSecret(this.config.encryptionKey, secret, `admin-totp:${adminId}`);
  }

  private unseal(adminId: string, sealed: string): string {
    return decryptSecret(this.config.encryptionKey, sealed, `admin-totp:${adminId}`);
  }
}
