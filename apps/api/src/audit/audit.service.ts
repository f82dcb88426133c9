import { Injectable } from '@nestjs/common';
import { ApiError } from '@app/common/errors';
import { InjectRepository } from '@nestjs/typeorm';
import type { RequestContext } from '@app/common/http';
import { AuditActorType, AuditLog, AuditStatus, PreparedStatement, runPrepared } from '@app/database';
import { EntityManager, Repository } from 'typeorm';

export interface AuditQuery {
  event?: string;
  actorId?: string;
  from?: string;
  to?: string;
  cursor?: string;
  limit?: number;
}

export interface AuditPage {
  items: Array<{
    id: string;
    event: string;
    actorType: string;
    actorId: string | null;
    retailerId: string | null;
    impersonatorId: string | null;
    ip: string | null;
    device: string | null;
    status: string;
    reason: string | null;
    metadata: Record<string, unknown>;
    createdAt: string;
  }>;
  nextCursor: string | null;
}

/** Cursors are the last row's id, opaque to clients. */
function encodeCursor(id: string): string {
  return Buffer.from(`a:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^a:(\d{1,19})$/.exec(decoded);
  if (!match) throw ApiError.validation([{ field: 'cursor', message: 'cursor is not a cursor this service issued' }]);
  return match[1];
}

export interface AuditEntry {
  event: string;
  actorType: AuditActorType;
  actorId?: string | null;
  retailerId?: string | null;
  impersonatorId?: string | null;
  status: AuditStatus;
  reason?: string | null;
  metadata?: Record<string, unknown>;
}

const INSERT_AUDIT_ROW: PreparedStatement = {
  name: 'audit_insert',
  text: `INSERT INTO audit_logs (event, actor_type, actor_id, retailer_id, impersonator_id, ip, device, status, reason, metadata, request_id)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id, created_at`,
};

/**
 * The audit-log writer every module uses. Rows are only ever inserted (the table refuses
 * UPDATE and DELETE). A write is awaited before the request is answered, so an acknowledged
 * action always has its row; pass the transaction's manager to make the row part of it.
 */
@Injectable()
export class AuditService {
  constructor(@InjectRepository(AuditLog) private readonly logs: Repository<AuditLog>) {}

  async record(entry: AuditEntry, context?: Partial<RequestContext>, manager?: EntityManager): Promise<AuditLog> {
    const row = this.logs.create({
      event: entry.event,
      actorType: entry.actorType,
      actorId: entry.actorId ?? null,
      retailerId: entry.retailerId ?? null,
      impersonatorId: entry.impersonatorId ?? null,
      status: entry.status,
      reason: entry.reason?.slice(0, 200) ?? null,
      metadata: entry.metadata ?? {},
      ip: context?.ip?.slice(0, 64) ?? null,
      device: context?.device?.slice(0, 200) ?? null,
      requestId: context?.requestId?.slice(0, 64) ?? null,
    });
    // One plain INSERT: every sign-in and every impersonated request writes a row, and the ORM's
    // save() would wrap it in a transaction of its own (three round trips and far more CPU).
    const [inserted] = await runPrepared<{ id: string; created_at: Date }>(manager ?? this.logs.manager, INSERT_AUDIT_ROW, [
      row.event,
      row.actorType,
      row.actorId,
      row.retailerId,
      row.impersonatorId,
      row.ip,
      row.device,
      row.status,
      row.reason,
      row.metadata,
      row.requestId,
    ]);
    row.id = inserted.id;
    row.createdAt = inserted.created_at;
    return row;
  }

  /** One retailer's rows, newest first, filtered, with keyset pagination on the id. */
  async query(retailerId: string, q: AuditQuery): Promise<AuditPage> {
    const limit = q.limit ?? 50;
    const qb = this.logs.createQueryBuilder('a').where('a.retailer_id = :retailerId', { retailerId });
    if (q.event) qb.andWhere('a.event = :event', { event: q.event });
    if (q.actorId) qb.andWhere('a.actor_id = :actorId', { actorId: q.actorId });
    if (q.from) qb.andWhere('a.created_at >= :from', { from: new Date(q.from) });
    if (q.to) qb.andWhere('a.created_at < :to', { to: new Date(q.to) });
    if (q.cursor) qb.andWhere('a.id < :cursor', { cursor: decodeCursor(q.cursor) });
    const rows = await qb.orderBy('a.id', 'DESC').limit(limit + 1).getMany();
    const page = rows.slice(0, limit);
    return {
      items: page.map((r) => ({
        id: r.id,
        event: r.event,
        actorType: r.actorType,
        actorId: r.actorId,
        retailerId: r.retailerId,
        impersonatorId: r.impersonatorId,
        ip: r.ip,
        device: r.device,
        status: r.status,
        reason: r.reason,
        metadata: r.metadata,
        createdAt: r.createdAt.toISOString(),
      })),
      nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1].id) : null,
    };
  }
}
