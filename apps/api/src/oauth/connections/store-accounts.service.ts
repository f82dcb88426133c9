import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { normalizeEmail } from '@app/common/crypto';
import { ApiError, ErrorCode } from '@app/common/errors';
import type { RequestContext } from '@app/common/http';
import { isUniqueViolation, OAuthConnection, OAuthProvider, Retailer, User } from '@app/database';
import { AuditService } from '../../audit/audit.service';

export const PLATFORM_NAME: Record<OAuthProvider, string> = {
  shopify: 'Shopify',
  bigcommerce: 'BigCommerce',
  woocommerce: 'WooCommerce',
  microsoft: 'Microsoft',
  google: 'Google',
};

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

/**
 * The retailer side of an install: which retailer a store belongs to, creating one (with its
 * owner) for a store seen for the first time, and the audit rows of connections.
 */
@Injectable()
export class StoreAccountsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  /** 403 ACCOUNT_SUSPENDED for a suspended retailer: it takes no new tokens (checked before any exchange). */
  async assertRetailerActive(retailerId: string): Promise<void> {
    const retailer = await this.dataSource.getRepository(Retailer).findOneBy({ id: retailerId });
    if (!retailer) throw new ApiError(ErrorCode.NOT_FOUND, 'The retailer no longer exists.');
    if (retailer.status !== 'active') throw new ApiError(ErrorCode.ACCOUNT_SUSPENDED);
  }

  /**
   * A store seen for the first time: a retailer named after it and its owner (no password: the
   * owner signs in through the platform, a magic link or a reset). An email that already has an
   * account is 409 CONFLICT and is never linked: a store whose owner email merely matches must
   * not get a session of, or data into, someone else's account. That user connects the store
   * from the dashboard instead.
   */
  async createRetailerWithOwner(
    manager: EntityManager,
    details: { retailerName: string; ownerEmail: unknown; ownerName?: string; provider: OAuthProvider; externalId: string },
    ctx: RequestContext,
  ): Promise<{ retailer: Retailer; user: User }> {
    const platform = PLATFORM_NAME[details.provider];
    if (typeof details.ownerEmail !== 'string' || !EMAIL.test(details.ownerEmail.trim())) {
      throw new ApiError(ErrorCode.SERVICE_UNAVAILABLE, `${platform} did not give the store owner's email, so no account can be created. Nothing was stored.`);
    }
    const email = normalizeEmail(details.ownerEmail);
    const conflict = () =>
      new ApiError(
        ErrorCode.CONFLICT,
        `An account with the store owner's email already exists. Sign in and connect the ${platform} store from the dashboard instead.`,
      );
    if (await manager.getRepository(User).existsBy({ email })) throw conflict();
    try {
      const retailer = await manager.getRepository(Retailer).save(manager.getRepository(Retailer).create({ name: details.retailerName.trim().slice(0, 200) || details.externalId.slice(0, 200) }));
      const user = await manager.getRepository(User).save(
        manager.getRepository(User).create({
          retailerId: retailer.id,
          email,
          name: (details.ownerName?.trim() || email).slice(0, 200),
          passwordHash: null,
          role: 'owner',
        }),
      );
      await this.audit.record(
        { event: 'user_registered', actorType: 'user', actorId: user.id, retailerId: retailer.id, status: 'success', metadata: { via: details.provider, account: details.externalId } },
        ctx,
        manager,
      );
      return { retailer, user };
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict();
      throw err;
    }
  }

  /**
   * Who an install signs in: only for a connection whose retailer the store itself created (the
   * store is that account's identity), its installing user, else the retailer's first owner;
   * active, with an active retailer, and without a second factor (an install must not skip MFA:
   * that user signs in normally). A store linked from the dashboard to an existing account never
   * signs anyone in: anybody able to install apps on the store would otherwise become that account.
   */
  async signInUserFor(connection: OAuthConnection): Promise<User | null> {
    if (connection.metadata?.origin !== 'install') return null;
    const users = this.dataSource.getRepository(User);
    let user = connection.userId ? await users.findOne({ where: { id: connection.userId, retailerId: connection.retailerId }, relations: { retailer: true } }) : null;
    if (!user || user.status !== 'active') {
      user = await users.findOne({ where: { retailerId: connection.retailerId, role: 'owner', status: 'active' }, relations: { retailer: true }, order: { createdAt: 'ASC' } });
    }
    if (!user || user.retailer?.status !== 'active') return null;
    if (user.totpEnabledAt || user.emailOtpEnabledAt) return null;
    return user;
  }

  async recordConnected(connection: OAuthConnection, actor: { type: 'user' | 'service'; id: string | null }, ctx: RequestContext, manager?: EntityManager): Promise<void> {
    await this.audit.record(
      {
        event: 'oauth_connected',
        actorType: actor.type,
        actorId: actor.id,
        retailerId: connection.retailerId,
        status: 'success',
        metadata: { connectionId: connection.id, provider: connection.provider, account: connection.externalId, scopes: connection.scopes },
      },
      ctx,
      manager,
    );
  }
}
