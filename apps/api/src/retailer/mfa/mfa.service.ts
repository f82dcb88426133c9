import { randomInt } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { InjectDataSource } from '@nestjs/typeorm';
import { TokenExpiredError } from 'jsonwebtoken';
import { DataSource, EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { decryptSecret, encryptSecret, hmacSha256, safeEqual } from '@app/common/crypto';
import { ApiError, ErrorCode } from '@app/common/errors';
import type { RequestContext } from '@app/common/http';
import { BackupCode, MfaChallenge, User } from '@app/database';
import { AuditService } from '../../audit/audit.service';
import { MailOutboxService } from '../../mail/mail-outbox.service';
import { RateLimitService } from '../../rate-limit/rate-limit.service';
import { AUDIENCE, TokenService } from '../../tokens/token.service';
import { RetailerPrincipal } from '../retailer-principal';
import { MfaMethod } from './dto/mfa.dto';
import { mfaMails } from './mfa-mails';
import { totp } from './totp';

/** Wrong codes a challenge survives; the next one kills it (contract: "after 5"). */
export const MFA_MAX_ATTEMPTS = 5;
const BACKUP_CODE_COUNT = 10;
// Crockford-style alphabet: no I, L, O, U, so codes read and type back without mistakes.
const BACKUP_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export interface MfaChallengeAnswer {
  mfaRequired: true;
  mfaToken: string;
  methods: MfaMethod[];
  expiresAt: string;
}

type UserWithSecrets = User & { totpSecret: string | null; totpPendingSecret: string | null };

/**
 * Second factors of retailer users: TOTP with backup codes, email one-time codes, and the login
 * challenge that asks for them. The challenge token is a JWT of its own type (own key, audience
 * `mfa`), so no guard accepts it as an access token; the challenge row makes it single use and
 * counts wrong codes. Every wrong code also counts toward the email's login lockout.
 */
@Injectable()
export class MfaService {
  private readonly codeKey: Buffer;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly tokens: TokenService,
    private readonly jwt: JwtService,
    private readonly limits: RateLimitService,
    private readonly audit: AuditService,
    private readonly mail: MailOutboxService,
  ) {
    this.codeKey = hmacSha256(config.encryptionKey, 'mfa-codes-v1');
  }

  methodsOf(user: Pick<User, 'totpEnabledAt' | 'emailOtpEnabledAt'>): MfaMethod[] {
    const methods: MfaMethod[] = [];
    if (user.totpEnabledAt) methods.push('totp', 'backup_code');
    if (user.emailOtpEnabledAt) methods.push('email_otp');
    return methods;
  }

  hasFactor(user: Pick<User, 'totpEnabledAt' | 'emailOtpEnabledAt'>): boolean {
    return this.methodsOf(user).length > 0;
  }

  /** After the first factor: a challenge instead of a session. `details` go into the audit row's metadata. */
  async startChallenge(user: User, origin: 'password' | 'magic_link' | 'sso', ctx: RequestContext, details: Record<string, unknown> = {}): Promise<MfaChallengeAnswer> {
    const expiresAt = new Date(Date.now() + this.config.auth.mfaChallengeTtlMs);
    const challenge = await this.dataSource.getRepository(MfaChallenge).save(
      this.dataSource.getRepository(MfaChallenge).create({ userId: user.id, origin, attempts: 0, expiresAt, closedAt: null }),
    );
    const issued = this.tokens.sign('mfa', { sub: challenge.id, uid: user.id }, { ttlMs: this.config.auth.mfaChallengeTtlMs });
    await this.audit.record(
      { event: 'mfa_challenge_started', actorType: 'user', actorId: user.id, retailerId: user.retailerId, status: 'success', metadata: { ...details, origin } },
      ctx,
    );
    return { mfaRequired: true, mfaToken: issued.token, methods: this.methodsOf(user), expiresAt: issued.expiresAt };
  }

  /** POST /auth/mfa/email-otp/send: a 6-digit code to the user's email, for this challenge only. */
  async sendEmailCode(mfaToken: string, ctx: RequestContext): Promise<void> {
    const { challenge, user } = await this.openChallenge(mfaToken);
    if (!user.emailOtpEnabledAt) throw ApiError.validation([{ field: 'method', message: 'Email codes are not enabled for this account.' }]);
    await this.limits.consume('mfaPerIp', ctx.ip);
    await this.limits.consume('otpSendPerEmail', user.email);
    await this.limits.assertLoginAllowed(user.email);
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    await this.dataSource.transaction(async (manager) => {
      await manager.getRepository(MfaChallenge).update(
        { id: challenge.id },
        { emailCodeHash: this.codeHash(challenge.id, code), emailCodeExpiresAt: new Date(Date.now() + this.config.auth.emailOtpTtlMs) },
      );
      await this.mail.enqueue(mfaMails.emailCode(user.email, code, Math.round(this.config.auth.emailOtpTtlMs / 60_000)), manager);
      await this.audit.record({ event: 'mfa_email_code_sent', actorType: 'user', actorId: user.id, retailerId: user.retailerId, status: 'success' }, ctx, manager);
    });
    this.mail.nudge();
  }

  /** POST /auth/mfa/verify: the user whose login the challenge completes, or an error. */
  async verifyChallenge(mfaToken: string, method: MfaMethod, code: string, ctx: RequestContext): Promise<User> {
    const { challenge, user } = await this.openChallenge(mfaToken);
    await this.limits.consume('mfaPerIp', ctx.ip);
    await this.limits.assertLoginAllowed(user.email);
    if (!this.methodsOf(user).includes(method)) {
      throw ApiError.validation([{ field: 'method', message: `Use one of: ${this.methodsOf(user).join(', ')}.` }]);
    }
    // Reserve the attempt before checking the code, atomically: however many requests race on
    // one challenge, at most MFA_MAX_ATTEMPTS codes are ever checked against it.
    const reserved = await this.dataSource
      .query(`UPDATE mfa_challenges SET attempts = attempts + 1 WHERE id = $1 AND closed_at IS NULL AND attempts < $2 RETURNING attempts`, [
        challenge.id,
        MFA_MAX_ATTEMPTS,
      ])
      .then(flattenRows);
    if (!reserved.length) throw new ApiError(ErrorCode.TOKEN_INVALID, 'This sign-in challenge is no longer valid; sign in again.');
    const attempts = Number(reserved[0].attempts);
    const ok = await this.checkCode(user, method, code, challenge);
    if (!ok) {
      if (attempts >= MFA_MAX_ATTEMPTS) await this.dataSource.query(`UPDATE mfa_challenges SET closed_at = now() WHERE id = $1 AND closed_at IS NULL`, [challenge.id]);
      await this.limits.recordLoginFailure(user.email);
      await this.audit.record(
        { event: 'mfa_verify_failure', actorType: 'user', actorId: user.id, retailerId: user.retailerId, status: 'failure', reason: ErrorCode.MFA_INVALID_CODE, metadata: { method, attempts } },
        ctx,
      );
      throw new ApiError(ErrorCode.MFA_INVALID_CODE);
    }
    const closed = await this.dataSource.query(`UPDATE mfa_challenges SET closed_at = now() WHERE id = $1 AND closed_at IS NULL RETURNING id`, [challenge.id]).then(flattenRows);
    if (!closed.length) throw new ApiError(ErrorCode.TOKEN_INVALID, 'This sign-in challenge has already been used.');
    await this.limits.recordLoginSuccess(user.email);
    await this.audit.record({ event: 'mfa_verify_success', actorType: 'user', actorId: user.id, retailerId: user.retailerId, status: 'success', metadata: { method } }, ctx);
    return user;
  }

  // ---- enrolment (signed-in users) --------------------------------------------------------

  async setupTotp(principal: RetailerPrincipal) {
    const user = await this.loadUser(principal.userId);
    if (user.totpEnabledAt) throw new ApiError(ErrorCode.CONFLICT, 'TOTP is already on; turn it off first.');
    const secret = totp.newSecret();
    await this.dataSource.getRepository(User).update({ id: user.id }, { totpPendingSecret: this.seal(user.id, secret) });
    const otpauthUri = totp.uri(secret, this.config.auth.totpIssuer, user.email);
    return { secret, otpauthUri, qrCodeDataUrl: await totp.qrDataUrl(otpauthUri) };
  }

  async enableTotp(principal: RetailerPrincipal, code: string, ctx: RequestContext): Promise<{ backupCodes: string[] }> {
    const user = await this.loadUser(principal.userId);
    await this.assertMayTryCode(user, ctx);
    if (user.totpEnabledAt) throw new ApiError(ErrorCode.CONFLICT, 'TOTP is already on.');
    if (!user.totpPendingSecret) throw new ApiError(ErrorCode.CONFLICT, 'Start with POST /auth/mfa/totp/setup.');
    const step = await totp.verify(this.unseal(user.id, user.totpPendingSecret), code);
    if (step === null || !(await this.claimStep(user.id, step))) await this.wrongEnrolmentCode(user, 'mfa_totp_enable_failure', ctx);
    const backupCodes = await this.dataSource.transaction(async (manager) => {
      await manager.getRepository(User).update({ id: user.id }, { totpSecret: user.totpPendingSecret, totpPendingSecret: null, totpEnabledAt: new Date() });
      const codes = await this.replaceBackupCodes(user.id, manager);
      await this.mail.enqueue(mfaMails.factorChanged(user.email, 'An authenticator app was turned on for your account.'), manager);
      await this.audit.record({ event: 'mfa_totp_enabled', actorType: 'user', actorId: user.id, retailerId: user.retailerId, status: 'success' }, ctx, manager);
      return codes;
    });
    this.mail.nudge();
    return { backupCodes };
  }

  async disableTotp(principal: RetailerPrincipal, code: string, ctx: RequestContext): Promise<void> {
    const user = await this.loadUser(principal.userId);
    if (!user.totpEnabledAt || !user.totpSecret) throw new ApiError(ErrorCode.CONFLICT, 'TOTP is not on.');
    await this.assertMayTryCode(user, ctx);
    const ok = (await this.checkTotp(user, code)) || (await this.useBackupCode(user.id, code));
    if (!ok) await this.wrongEnrolmentCode(user, 'mfa_totp_disable_failure', ctx);
    await this.dataSource.transaction(async (manager) => {
      await manager.getRepository(User).update({ id: user.id }, { totpSecret: null, totpPendingSecret: null, totpEnabledAt: null, totpLastStep: null });
      await manager.getRepository(BackupCode).delete({ userId: user.id });
      await this.mail.enqueue(mfaMails.factorChanged(user.email, 'The authenticator app was turned off for your account.'), manager);
      await this.audit.record({ event: 'mfa_totp_disabled', actorType: 'user', actorId: user.id, retailerId: user.retailerId, status: 'success' }, ctx, manager);
    });
    this.mail.nudge();
  }

  async regenerateBackupCodes(principal: RetailerPrincipal, code: string, ctx: RequestContext): Promise<{ backupCodes: string[] }> {
    const user = await this.loadUser(principal.userId);
    if (!user.totpEnabledAt || !user.totpSecret) throw new ApiError(ErrorCode.CONFLICT, 'Backup codes come with TOTP; turn it on first.');
    await this.assertMayTryCode(user, ctx);
    if (!(await this.checkTotp(user, code))) await this.wrongEnrolmentCode(user, 'mfa_backup_codes_failure', ctx);
    const backupCodes = await this.dataSource.transaction(async (manager) => {
      const codes = await this.replaceBackupCodes(user.id, manager);
      await this.mail.enqueue(mfaMails.factorChanged(user.email, 'New backup codes were made for your account; the old ones no longer work.'), manager);
      await this.audit.record({ event: 'mfa_backup_codes_regenerated', actorType: 'user', actorId: user.id, retailerId: user.retailerId, status: 'success' }, ctx, manager);
      return codes;
    });
    this.mail.nudge();
    return { backupCodes };
  }

  async setEmailOtp(principal: RetailerPrincipal, enabled: boolean, ctx: RequestContext): Promise<void> {
    const user = await this.loadUser(principal.userId);
    if (Boolean(user.emailOtpEnabledAt) === enabled) return;
    await this.dataSource.transaction(async (manager) => {
      await manager.getRepository(User).update({ id: user.id }, { emailOtpEnabledAt: enabled ? new Date() : null });
      await this.mail.enqueue(
        mfaMails.factorChanged(user.email, enabled ? 'Sign-in codes by email were turned on for your account.' : 'Sign-in codes by email were turned off for your account.'),
        manager,
      );
      await this.audit.record(
        { event: enabled ? 'mfa_email_otp_enabled' : 'mfa_email_otp_disabled', actorType: 'user', actorId: user.id, retailerId: user.retailerId, status: 'success' },
        ctx,
        manager,
      );
    });
    this.mail.nudge();
  }

  // ---- internals -----------------------------------------------------------------------------

  private async openChallenge(mfaToken: string): Promise<{ challenge: MfaChallenge; user: UserWithSecrets }> {
    let payload: { sub?: unknown; uid?: unknown };
    try {
      const header = JSON.parse(Buffer.from(mfaToken.split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid?: unknown; alg?: unknown };
      const key = this.tokens.keys.find(header.kid, ['mfa']);
      if (!key || header.alg !== 'HS256') throw new Error('wrong key');
      payload = this.jwt.verify(mfaToken, { secret: key.key as never, algorithms: ['HS256'], audience: AUDIENCE.mfa, issuer: this.config.jwt.issuer });
    } catch (err) {
      throw new ApiError(err instanceof TokenExpiredError ? ErrorCode.TOKEN_EXPIRED : ErrorCode.TOKEN_INVALID);
    }
    if (typeof payload.sub !== 'string' || typeof payload.uid !== 'string') throw new ApiError(ErrorCode.TOKEN_INVALID);
    const challenge = await this.dataSource.getRepository(MfaChallenge).findOneBy({ id: payload.sub, userId: payload.uid });
    if (!challenge || challenge.closedAt || challenge.expiresAt.getTime() <= Date.now()) {
      throw new ApiError(ErrorCode.TOKEN_INVALID, 'This sign-in challenge is no longer valid; sign in again.');
    }
    const user = await this.loadUser(payload.uid);
    if (user.status !== 'active' || user.retailer?.status !== 'active') throw new ApiError(ErrorCode.ACCOUNT_SUSPENDED);
    return { challenge, user };
  }

  private async checkCode(user: UserWithSecrets, method: MfaMethod, code: string, challenge: MfaChallenge): Promise<boolean> {
    switch (method) {
      case 'totp':
        return this.checkTotp(user, code);
      case 'backup_code':
        return this.useBackupCode(user.id, code);
      case 'email_otp': {
        if (!challenge.emailCodeHash || !challenge.emailCodeExpiresAt || challenge.emailCodeExpiresAt.getTime() <= Date.now()) return false;
        if (!/^\d{6}$/.test(code) || !safeEqual(challenge.emailCodeHash, this.codeHash(challenge.id, code))) return false;
        // Single use: the code is cleared as it is accepted.
        const used = await this.dataSource
          .query(`UPDATE mfa_challenges SET email_code_hash = NULL WHERE id = $1 AND email_code_hash = $2 RETURNING id`, [challenge.id, challenge.emailCodeHash])
          .then(flattenRows);
        return used.length === 1;
      }
    }
  }

  /** A valid TOTP code of a step newer than any accepted before (on any instance). */
  private async checkTotp(user: UserWithSecrets, code: string): Promise<boolean> {
    if (!user.totpSecret) return false;
    const step = await totp.verify(this.unseal(user.id, user.totpSecret), code);
    return step !== null && (await this.claimStep(user.id, step));
  }

  /** Compare-and-set of the last accepted step: a replayed (or older) code loses. */
  private async claimStep(userId: string, step: number): Promise<boolean> {
    const rows = await this.dataSource
      .query(`UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2) RETURNING id`, [userId, step])
      .then(flattenRows);
    return rows.length === 1;
  }

  private async useBackupCode(userId: string, code: string): Promise<boolean> {
    const normalized = code.toUpperCase().replace(/[\s-]/g, '');
    if (!/^[0-9A-Z]{10}$/.test(normalized)) return false;
    const rows = await this.dataSource
      .query(`UPDATE backup_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING id`, [userId, this.codeHash(userId, normalized)])
      .then(flattenRows);
    return rows.length === 1;
  }

  private async replaceBackupCodes(userId: string, manager: EntityManager): Promise<string[]> {
    const codes = Array.from({ length: BACKUP_CODE_COUNT }, () => {
      const raw = Array.from({ length: 10 }, () => BACKUP_ALPHABET[randomInt(0, BACKUP_ALPHABET.length)]).join('');
      return `${raw.slice(0, 5)}-${raw.slice(5)}`;
    });
    await manager.getRepository(BackupCode).delete({ userId });
    await manager.getRepository(BackupCode).insert(codes.map((c) => ({ userId, codeHash: this.codeHash(userId, c.replace('-', '')), usedAt: null })));
    return codes;
  }

  /** Codes typed by a signed-in user obey the same limits as at sign-in (a stolen session gets no free guesses). */
  private async assertMayTryCode(user: User, ctx: RequestContext): Promise<void> {
    await this.limits.consume('mfaPerIp', ctx.ip);
    await this.limits.assertLoginAllowed(user.email);
  }

  private async wrongEnrolmentCode(user: User, event: string, ctx: RequestContext): Promise<never> {
    await this.limits.recordLoginFailure(user.email);
    await this.audit.record({ event, actorType: 'user', actorId: user.id, retailerId: user.retailerId, status: 'failure', reason: ErrorCode.MFA_INVALID_CODE }, ctx);
    throw new ApiError(ErrorCode.MFA_INVALID_CODE);
  }

  private async loadUser(id: string): Promise<UserWithSecrets> {
    const user = await this.dataSource
      .getRepository(User)
      .createQueryBuilder('u')
      .leftJoinAndSelect('u.retailer', 'r')
      .addSelect(['u.totpSecret', 'u.totpPendingSecret'])
      .where('u.id = :id', { id })
      .getOne();
    if (!user) throw new ApiError(ErrorCode.TOKEN_REVOKED);
    return user as UserWithSecrets;
  }

  /** Keyed hash of a short code, bound to its owner (a user id or a challenge id). */
  private codeHash(owner: string, code: string): string {
    return hmacSha256(this.codeKey, `${owner}:${code}`).toString('hex');
  }

  private seal(userId: string, secret: string): string {
    return encryptSecret(this.config.encryptionKey, secret, `totp:${userId}`);
  }

  private unseal(userId: string, sealed: string): string {
    return decryptSecret(this.config.encryptionKey, sealed, `totp:${userId}`);
  }
}

/** TypeORM answers UPDATE … RETURNING with [rows, count]; SELECT with rows. */
function flattenRows(result: unknown): Array<Record<string, any>> {
  if (Array.isArray(result) && Array.isArray(result[0])) return result[0] as Array<Record<string, any>>;
  return (result as Array<Record<string, any>>) ?? [];
}
