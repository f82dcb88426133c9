import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { normalizeEmail } from '@app/common/crypto';
import { ApiError, ErrorCode } from '@app/common/errors';
import type { RequestContext } from '@app/common/http';
import type { OutgoingMail } from '@app/common/mail';
import { User } from '@app/database';
import { AuditService } from '../../audit/audit.service';
import { MailOutboxService } from '../../mail/mail-outbox.service';
import { OneTimeTokenService } from '../../one-time-tokens/one-time-token.service';
import { RateLimitService } from '../../rate-limit/rate-limit.service';
import { MfaChallengeAnswer, MfaService } from '../mfa/mfa.service';
import { RetailerAuthService, SignedIn } from '../retailer-auth.service';

function magicLinkMail(to: string, link: string, ttlMinutes: number): OutgoingMail {
  return {
    to,
    subject: 'Your sign-in link',
    text: `Sign in with this link: ${link}\n\nIt works once and expires in ${ttlMinutes} minutes. If you did not ask for it, ignore this mail.`,
  };
}

/** Passwordless sign-in by a single-use emailed link (15 minutes by default). */
@Injectable()
export class MagicLinkService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly oneTime: OneTimeTokenService,
    private readonly mail: MailOutboxService,
    private readonly limits: RateLimitService,
    private readonly audit: AuditService,
    private readonly mfa: MfaService,
    private readonly auth: RetailerAuthService,
  ) {}

  /** Same answer, and about the same work, whether or not the email has an account. */
  async request(rawEmail: string, ctx: RequestContext): Promise<void> {
    const email = normalizeEmail(rawEmail);
    await this.limits.consume('magicLinkPerIp', ctx.ip);
    await this.limits.consume('magicLinkPerEmail', email);
    const user = await this.dataSource.getRepository(User).findOne({ where: { email }, relations: { retailer: true } });
    if (!user || user.status !== 'active' || user.retailer?.status !== 'active') {
      await this.audit.record({ event: 'magic_link_requested', actorType: 'anonymous', status: 'failure', reason: 'unknown_or_inactive_account', metadata: { email } }, ctx);
      return;
    }
    await this.dataSource.transaction(async (manager) => {
      const token = await this.oneTime.issue('magic_link', { userId: user.id, retailerId: user.retailerId, email, ttlMs: this.config.auth.magicLinkTtlMs }, manager);
      const link = `${this.config.http.publicBaseUrl}/magic-link?token=${encodeURIComponent(token)}`;
      await this.mail.enqueue(magicLinkMail(email, link, Math.round(this.config.auth.magicLinkTtlMs / 60_000)), manager);
      await this.audit.record({ event: 'magic_link_requested', actorType: 'user', actorId: user.id, retailerId: user.retailerId, status: 'success' }, ctx, manager);
    });
    this.mail.nudge();
  }

  /** Consumes the link: a session, or the MFA challenge when the user has a second factor. */
  async verify(token: string, ctx: RequestContext): Promise<SignedIn | MfaChallengeAnswer> {
    await this.limits.consume('magicLinkPerIp', ctx.ip);
    let userId: string | null;
    try {
      userId = (await this.oneTime.consume('magic_link', token)).userId;
    } catch (err) {
      await this.audit.record({ event: 'magic_link_failure', actorType: 'anonymous', status: 'failure', reason: (err as ApiError).code ?? ErrorCode.TOKEN_INVALID }, ctx);
      throw err;
    }
    const user = await this.dataSource.getRepository(User).findOne({ where: { id: userId! }, relations: { retailer: true } });
    if (!user) throw new ApiError(ErrorCode.TOKEN_INVALID);
    if (user.status !== 'active' || user.retailer?.status !== 'active') throw new ApiError(ErrorCode.ACCOUNT_SUSPENDED);
    // Following the link proves the mailbox.
    if (!user.emailVerifiedAt) await this.dataSource.getRepository(User).update({ id: user.id }, { emailVerifiedAt: new Date() });
    if (this.mfa.hasFactor(user)) return this.mfa.startChallenge(user, 'magic_link', ctx);
    return this.auth.completeSignIn(user, 'magic_link', ctx);
  }
}
