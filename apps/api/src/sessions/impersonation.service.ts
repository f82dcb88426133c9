import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager, IsNull, MoreThan } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import type { RequestContext } from '@app/common/http';
import { Impersonation } from '@app/database';
import { AuditService } from '../audit/audit.service';
import { IssuedToken, TokenService } from '../tokens/token.service';
import { SessionService } from './session.service';

export interface StartedImpersonation {
  impersonation: Impersonation;
  access: IssuedToken;
}

/**
 * Impersonations: an admin token with `act.sub`, backed by a row that says who, for which
 * retailer, why and until when. Ending one (DELETE, logout with it, suspension of the retailer)
 * marks the row and revokes the token's `jti` on every instance.
 */
@Injectable()
export class ImpersonationService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly tokens: TokenService,
    private readonly sessions: SessionService,
    private readonly audit: AuditService,
  ) {}

  async start(
    admin: { id: string; fullAccess: boolean },
    target: { retailerId: string; actingUserId: string; reason: string },
    manager: EntityManager,
  ): Promise<StartedImpersonation> {
    const id = randomUUID();
    const access = this.tokens.sign(
      'admin',
      { sub: admin.id, fullAccess: admin.fullAccess, act: { sub: target.retailerId }, sid: id },
      { ttlMs: this.config.auth.impersonationTtlMs },
    );
    const repo = manager.getRepository(Impersonation);
    const impersonation = await repo.save(
      repo.create({
        id,
        adminId: admin.id,
        retailerId: target.retailerId,
        actingUserId: target.actingUserId,
        reason: target.reason,
        fullAccess: admin.fullAccess,
        jti: access.jti,
        expiresAt: new Date(access.exp * 1000),
      }),
    );
    return { impersonation, access };
  }

  /**
   * Ends one impersonation on an admin's request (DELETE, or a sign-out with its token) and
   * writes `impersonation_ended`. Null when there is no such impersonation.
   */
  async finish(id: string, by: { adminId: string; via: 'delete' | 'logout' | 'admin_logout' }, ctx: Partial<RequestContext>): Promise<Impersonation | null> {
    const impersonation = await this.dataSource.getRepository(Impersonation).findOneBy({ id });
    if (!impersonation) return null;
    const ended = await this.end({ id });
    await this.audit.record(
      {
        event: 'impersonation_ended',
        actorType: 'admin',
        actorId: by.adminId,
        retailerId: impersonation.retailerId,
        impersonatorId: impersonation.adminId,
        status: 'success',
        reason: impersonation.reason,
        metadata: { impersonationId: id, via: by.via, wasLive: ended.length > 0 },
      },
      ctx,
    );
    return impersonation;
  }

  /** Ends live impersonations; returns those that were live. */
  async end(where: { id?: string; retailerId?: string }): Promise<Impersonation[]> {
    const live = await this.dataSource.getRepository(Impersonation).find({
      where: { ...where, revokedAt: IsNull(), expiresAt: MoreThan(new Date()) },
    });
    if (!live.length) return [];
    await this.dataSource.getRepository(Impersonation).update(
      live.map((i) => i.id),
      { revokedAt: new Date() },
    );
    for (const i of live) await this.sessions.revokeToken(i.jti, Math.ceil(i.expiresAt.getTime() / 1000), 'impersonation_ended');
    return live;
  }
}
