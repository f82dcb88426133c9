import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull, Not } from 'typeorm';
import { ErrorCode } from '@app/common/errors';
import type { RequestContext } from '@app/common/http';
import { isUniqueViolation, Retailer, SsoDomain, User } from '@app/database';
import { AuditService } from '../audit/audit.service';
import { RoleResolver } from '../roles/role-resolver';
import { emailDomain, SsoIdentity } from './sso-identity';
import { SsoRefusal } from './sso-refusal';

export interface SsoMember {
  user: User & { retailer: Retailer };
  /** True when this sign-in created the member (just-in-time provisioning). */
  provisioned: boolean;
}

/**
 * Who an SSO identity is here: the member with that (verified) email, whatever retailer it
 * belongs to; otherwise, when a retailer turned on just-in-time provisioning for the email's
 * domain and proved it owns it (DNS TXT record), a new member of that retailer with the domain's
 * role; otherwise nobody (403 FORBIDDEN). No account is ever created without such a domain.
 */
@Injectable()
export class SsoMembersService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly roles: RoleResolver,
    private readonly audit: AuditService,
  ) {}

  async resolve(identity: SsoIdentity, provider: string, ctx: RequestContext): Promise<SsoMember> {
    const existing = await this.findByEmail(identity.email);
    if (existing) return { user: this.assertActive(existing, identity), provisioned: false };

    const domain = emailDomain(identity.email);
    // Only a verified claim (one per domain at most): a pending one is anybody's to make.
    const claim = await this.dataSource.getRepository(SsoDomain).findOne({ where: { domain, verifiedAt: Not(IsNull()) }, relations: { retailer: true } });
    if (!claim?.retailer) {
      throw new SsoRefusal(ErrorCode.FORBIDDEN, 'no_member', `There is no account for ${identity.email}. Ask your administrator to invite you.`, identity);
    }
    const who = { ...identity, retailerId: claim.retailerId };
    if (claim.retailer.status !== 'active') throw new SsoRefusal(ErrorCode.ACCOUNT_SUSPENDED, 'retailer_suspended', undefined, who);
    // Settings refuse `owner` and unknown roles when written; a custom role deleted since then
    // grants nothing, so nobody is created with it.
    if (claim.jitRole === 'owner' || !(await this.roles.exists(claim.retailerId, claim.jitRole))) {
      throw new SsoRefusal(ErrorCode.FORBIDDEN, 'jit_role_missing', `Accounts for ${domain} cannot be created right now (the role "${claim.jitRole}" no longer exists). Ask your administrator.`, who);
    }

    try {
      const user = await this.dataSource.transaction(async (manager) => {
        const created = await manager.getRepository(User).save(
          manager.getRepository(User).create({
            retailerId: claim.retailerId,
            email: identity.email,
            name: identity.name,
            passwordHash: null,
            role: claim.jitRole,
            emailVerifiedAt: new Date(),
          }),
        );
        await this.audit.record(
          {
            event: 'member_provisioned',
            actorType: 'user',
            actorId: created.id,
            retailerId: claim.retailerId,
            status: 'success',
            metadata: { method: 'sso', provider, subject: identity.subject, email: identity.email, domain, role: claim.jitRole },
          },
          ctx,
          manager,
        );
        return created;
      });
      user.retailer = claim.retailer;
      return { user: user as SsoMember['user'], provisioned: true };
    } catch (err) {
      // Two first sign-ins of one person racing: the unique email index decides, the loser uses the winner's row.
      if (!isUniqueViolation(err)) throw err;
      const winner = await this.findByEmail(identity.email);
      if (!winner) throw err;
      return { user: this.assertActive(winner, identity), provisioned: false };
    }
  }

  private findByEmail(email: string): Promise<User | null> {
    return this.dataSource.getRepository(User).findOne({ where: { email }, relations: { retailer: true } });
  }

  private assertActive(user: User, identity: SsoIdentity): SsoMember['user'] {
    if (user.status !== 'active' || user.retailer?.status !== 'active') {
      throw new SsoRefusal(ErrorCode.ACCOUNT_SUSPENDED, user.status !== 'active' ? 'user_suspended' : 'retailer_suspended', undefined, {
        ...identity,
        userId: user.id,
        retailerId: user.retailerId,
      });
    }
    return user as SsoMember['user'];
  }
}
