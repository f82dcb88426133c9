import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type MailStatus = 'pending' | 'sent' | 'failed';

/**
 * Mail waiting to be sent. A request that promises a mail writes its row in the same
 * transaction as the change it reports, so an acknowledged mail is never lost; a worker sends
 * and retries. The body may hold a one-time link: it is stored encrypted (AES-256-GCM) and
 * erased once sent.
 */
@Entity({ name: 'mail_outbox' })
@Index('idx_mail_outbox_due', ['status', 'nextAttemptAt'])
export class MailOutbox {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ name: 'to_address', type: 'varchar', length: 320 })
  toAddress: string;

  @Column({ type: 'varchar', length: 300 })
  subject: string;

  /** Encrypted JSON `{text, html?}`; empty once sent. */
  @Column({ name: 'sealed_body', type: 'text' })
  sealedBody: string;

  @Column({ type: 'varchar', length: 10, default: 'pending' })
  status: MailStatus;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', default: () => 'now()' })
  nextAttemptAt: Date;

  @Column({ name: 'last_error', type: 'varchar', length: 500, nullable: true })
  lastError: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt: Date | null;
}
