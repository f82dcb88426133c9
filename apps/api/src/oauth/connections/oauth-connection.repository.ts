import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { decryptSecret, encryptSecret } from '@app/common/crypto';
import { OAuthConnection, OAuthProvider } from '@app/database';

export interface ConnectedAccount {
  retailerId: string;
  userId: string | null;
  provider: OAuthProvider;
  externalId: string;
  scopes: string[];
  /** Plaintext: sealed here, never stored as is. Null for a mailbox whose tokens live in its MSAL cache. */
  accessToken: string | null;
  /** Plaintext refresh token (Gmail), sealed here. */
  refreshToken?: string | null;
  /** Serialised MSAL token cache (Outlook), sealed here. */
  tokenCache?: string | null;
  tokenExpiresAt?: Date | null;
  metadata?: Record<string, unknown>;
}

/** The sealed columns of a connection; each is sealed under its own associated data. */
export type SealedField = 'accessToken' | 'refreshToken' | 'tokenCache';

/** New values for a connection's tokens (plaintext; undefined leaves a column as it is). */
export interface TokenUpdate {
  accessToken?: string | null;
  refreshToken?: string | null;
  tokenCache?: string | null;
  tokenExpiresAt?: Date | null;
}

/**
 * Storage of OAuth connections, one method per query. Tokens are sealed with AES-256-GCM
 * (APP_ENCRYPTION_KEY) bound to `oauth:<provider>:<externalId>` as associated data, so a sealed
 * token copied onto another row does not open.
 */
@Injectable()
export class OAuthConnectionRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private repo(manager?: EntityManager) {
    return (manager ?? this.dataSource.manager).getRepository(OAuthConnection);
  }

  /**
   * The access token keeps the associated data it always had; the refresh token and the MSAL
   * cache add the column's name, so no sealed value opens when copied into another column.
   */
  private aad(provider: string, externalId: string, field: SealedField = 'accessToken'): string {
    return field === 'accessToken' ? `oauth:${provider}:${externalId}` : `oauth:${provider}:${externalId}:${field}`;
  }

  seal(provider: string, externalId: string, token: string, field: SealedField = 'accessToken'): string {
    return encryptSecret(this.config.encryptionKey, token, this.aad(provider, externalId, field));
  }

  private sealOrNull(provider: string, externalId: string, value: string | null | undefined, field: SealedField): string | null {
    return value ? this.seal(provider, externalId, value, field) : null;
  }

  /** The plaintext token of a row loaded with `withToken`; null when it has none (revoked). */
  openToken(row: OAuthConnection): string | null {
    return this.open(row, 'accessToken');
  }

  /** The plaintext of one sealed column of a row loaded with its secrets; null when empty. */
  open(row: OAuthConnection, field: SealedField): string | null {
    const sealed = row[field];
    return sealed ? decryptSecret(this.config.encryptionKey, sealed, this.aad(row.provider, row.externalId, field)) : null;
  }

  findByAccount(provider: OAuthProvider, externalId: string, manager?: EntityManager): Promise<OAuthConnection | null> {
    return this.repo(manager).findOneBy({ provider, externalId });
  }

  /** The account's row locked until the end of the caller's transaction (two installs racing see each other). */
  findByAccountForUpdate(manager: EntityManager, provider: OAuthProvider, externalId: string): Promise<OAuthConnection | null> {
    return this.repo(manager).createQueryBuilder('c').where('c.provider = :provider AND c.external_id = :externalId', { provider, externalId }).setLock('pessimistic_write').getOne();
  }

  listForRetailer(retailerId: string): Promise<OAuthConnection[]> {
    return this.repo().find({ where: { retailerId }, order: { connectedAt: 'DESC', id: 'ASC' } });
  }

  findForRetailerWithToken(id: string, retailerId: string): Promise<OAuthConnection | null> {
    return this.repo().createQueryBuilder('c').addSelect(['c.accessToken', 'c.refreshToken']).where('c.id = :id AND c.retailer_id = :retailerId', { id, retailerId }).getOne();
  }

  /** A connection with every sealed column (a mailbox about to get an access token). */
  findWithSecrets(id: string): Promise<OAuthConnection | null> {
    return this.repo().createQueryBuilder('c').addSelect(['c.accessToken', 'c.refreshToken', 'c.tokenCache']).where('c.id = :id', { id }).getOne();
  }

  /** Stores new tokens of an active connection, sealed; false when the row is gone or no longer active. */
  async updateTokens(row: Pick<OAuthConnection, 'id' | 'provider' | 'externalId'>, update: TokenUpdate): Promise<boolean> {
    const values: Partial<Record<keyof TokenUpdate, unknown>> = {};
    for (const field of ['accessToken', 'refreshToken', 'tokenCache'] as const) {
      if (update[field] !== undefined) values[field] = this.sealOrNull(row.provider, row.externalId, update[field], field);
    }
    if (update.tokenExpiresAt !== undefined) values.tokenExpiresAt = update.tokenExpiresAt;
    if (!Object.keys(values).length) return true;
    const result = await this.repo().update({ id: row.id, status: 'active' }, values as never);
    return (result.affected ?? 0) > 0;
  }

  /**
   * Inserts the connection, or (with `replace`) replaces token, scopes and owner of the existing row of that
   * account (a reinstall, a reconnect, a revoked connection coming back): one row per account.
   */
  async saveConnected(manager: EntityManager, account: ConnectedAccount, options: { replace: boolean } = { replace: true }): Promise<OAuthConnection> {
    const repo = this.repo(manager);
    const values = {
      retailerId: account.retailerId,
      userId: account.userId,
      scopes: account.scopes,
      status: 'active' as const,
      accessToken: this.sealOrNull(account.provider, account.externalId, account.accessToken, 'accessToken'),
      refreshToken: this.sealOrNull(account.provider, account.externalId, account.refreshToken, 'refreshToken'),
      tokenCache: this.sealOrNull(account.provider, account.externalId, account.tokenCache, 'tokenCache'),
      tokenExpiresAt: account.tokenExpiresAt ?? null,
      metadata: (account.metadata ?? {}) as never,
      connectedAt: new Date(),
      revokedAt: null,
    };
    const insert = repo.createQueryBuilder().insert().values({ provider: account.provider, externalId: account.externalId, ...values });
    // Without `replace` a row for the account already there is a unique violation (the caller's 409).
    if (!options.replace) await insert.execute();
    else
      await insert.orUpdate(['retailer_id', 'user_id', 'scopes', 'status', 'access_token', 'refresh_token', 'token_cache', 'token_expires_at', 'metadata', 'connected_at', 'revoked_at', 'updated_at'], ['provider', 'external_id'])
      .execute();
    return repo.findOneByOrFail({ provider: account.provider, externalId: account.externalId });
  }

  /** Marks the account's connection revoked and forgets its tokens; null when there is none. */
  async revokeByAccount(manager: EntityManager, provider: OAuthProvider, externalId: string): Promise<OAuthConnection | null> {
    const row = await this.findByAccount(provider, externalId, manager);
    if (!row) return null;
    await this.repo(manager).update({ id: row.id }, { status: 'revoked', revokedAt: new Date(), accessToken: null, refreshToken: null, tokenCache: null, tokenExpiresAt: null });
    return { ...row, status: 'revoked' } as OAuthConnection;
  }

  async deleteById(id: string, manager?: EntityManager): Promise<void> {
    await this.repo(manager).delete({ id });
  }

  async deleteByAccount(manager: EntityManager, provider: OAuthProvider, externalId: string): Promise<OAuthConnection | null> {
    const row = await this.findByAccount(provider, externalId, manager);
    if (row) await this.repo(manager).delete({ id: row.id });
    return row;
  }
}
