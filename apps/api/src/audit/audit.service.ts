import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { RequestContext } from '@app/common/http';
import { AuditActorType, AuditLog, AuditStatus } from '@app/database';
import { EntityManager, Repository } from 'typeorm';

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

/**
 * The audit-log writer every module uses. Rows are only ever inserted (the table refuses
 * UPDATE and DELETE). A write is awaited before the request is answered, so an acknowledged
 * action always has its row; pass the transaction's manager to make the row part of it.
 */
@Injectable()
export class AuditService {
  constructor(@InjectRepository(AuditLog) private readonly logs: Repository<AuditLog>) {}

  async record(entry: AuditEntry, context?: Partial<RequestContext>, manager?: EntityManager): Promise<AuditLog> {
    const repo = manager ? manager.getRepository(AuditLog) : this.logs;
    const row = repo.create({
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
    return repo.save(row);
  }
}
