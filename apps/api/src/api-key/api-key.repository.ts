import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Brackets, DataSource, EntityManager, Repository } from 'typeorm';
import { ApiKey } from '@app/database';

/** One method per query the ApiKey module runs. */
@Injectable()
export class ApiKeyRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private repo(manager?: EntityManager): Repository<ApiKey> {
    return (manager ?? this.dataSource.manager).getRepository(ApiKey);
  }

  /** What the guard needs to judge a key, with its retailer (status, allowlist), by the public prefix. */
  findForAuthByPrefix(prefix: string): Promise<ApiKey | null> {
    return this.repo().findOne({ where: { prefix }, relations: { retailer: true } });
  }

  /** The retailer's keys that still work or can still be managed: not revoked, not past a rotation grace. */
  listLive(retailerId: string): Promise<ApiKey[]> {
    return this.liveQuery(retailerId).orderBy('k.created_at', 'DESC').addOrderBy('k.id', 'DESC').getMany();
  }

  /** One live key of the retailer, locked for the rest of the transaction; another retailer's id finds nothing. */
  findLiveOwnedForUpdate(manager: EntityManager, retailerId: string, id: string): Promise<ApiKey | null> {
    return this.liveQuery(retailerId, manager).andWhere('k.id = :id', { id }).setLock('pessimistic_write').getOne();
  }

  insert(manager: EntityManager, values: Partial<ApiKey>): Promise<ApiKey> {
    return this.repo(manager).save(this.repo(manager).create(values));
  }

  markRotated(manager: EntityManager, id: string, replacedById: string, graceUntil: Date): Promise<unknown> {
    return this.repo(manager).update({ id }, { replacedById, graceUntil });
  }

  /** Revokes a key and the predecessor it replaced, if that one is still in its grace period; returns their prefixes. */
  async revokeWithPredecessor(manager: EntityManager, id: string): Promise<string[]> {
    const rows = (await manager.query(
      `UPDATE api_keys SET revoked_at = now() WHERE (id = $1 OR replaced_by_id = $1) AND revoked_at IS NULL RETURNING prefix`,
      [id],
    )) as [Array<{ prefix: string }>, number] | Array<{ prefix: string }>;
    const list = Array.isArray(rows[0]) ? (rows[0] as Array<{ prefix: string }>) : (rows as Array<{ prefix: string }>);
    return list.map((r) => r.prefix);
  }

  /** At most once a minute per key, whichever instance saw the use (the condition makes it so across instances). */
  touchLastUsed(id: string): Promise<unknown> {
    return this.dataSource.query(
      `UPDATE api_keys SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
      [id],
    );
  }

  private liveQuery(retailerId: string, manager?: EntityManager) {
    return this.repo(manager)
      .createQueryBuilder('k')
      .where('k.retailer_id = :retailerId', { retailerId })
      .andWhere('k.revoked_at IS NULL')
      .andWhere(new Brackets((w) => w.where('k.grace_until IS NULL').orWhere('k.grace_until > now()')));
  }
}
