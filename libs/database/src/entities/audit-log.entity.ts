import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type AuditActorType = 'user' | 'admin' | 'api_key' | 'service' | 'system' | 'anonymous';
export type AuditStatus = 'success' | 'failure';

/**
 * One auth event or admin action. Append-only: the application never updates or deletes rows,
 * and a trigger in the database refuses UPDATE, DELETE and TRUNCATE on the table.
 */
@Entity({ name: 'audit_logs' })
@Index('idx_audit_logs_retailer_id', ['retailerId', 'id'])
@Index('idx_audit_logs_event', ['event', 'id'])
export class AuditLog {
  /** Monotonic, so it doubles as the pagination cursor. bigint comes back as a string. */
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ type: 'varchar', length: 64 })
  event: string;

  @Column({ name: 'actor_type', type: 'varchar', length: 20 })
  actorType: AuditActorType;

  @Column({ name: 'actor_id', type: 'varchar', length: 64, nullable: true })
  actorId: string | null;

  @Column({ name: 'retailer_id', type: 'uuid', nullable: true })
  retailerId: string | null;

  @Column({ name: 'impersonator_id', type: 'varchar', length: 64, nullable: true })
  impersonatorId: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  @Column({ type: 'varchar', length: 200, nullable: true })
  device: string | null;

  @Column({ type: 'varchar', length: 16 })
  status: AuditStatus;

  @Column({ type: 'varchar', length: 200, nullable: true })
  reason: string | null;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  metadata: Record<string, unknown>;

  @Column({ name: 'request_id', type: 'varchar', length: 64, nullable: true })
  requestId: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
