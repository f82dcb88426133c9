import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { User } from './user.entity';

/**
 * A login waiting for its second factor. The mfaToken handed to the client names it; it is
 * consumed once, dies after 5 wrong codes, and holds the email code (hashed) when one was sent.
 */
@Entity({ name: 'mfa_challenges' })
export class MfaChallenge {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_mfa_challenges_user' })
  user?: User;

  /** How the first factor was proved: password, magic_link or sso. */
  @Column({ type: 'varchar', length: 20 })
  origin: string;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  /** Set when the challenge completed or died (too many wrong codes). */
  @Column({ name: 'closed_at', type: 'timestamptz', nullable: true })
  closedAt: Date | null;

  @Column({ name: 'email_code_hash', type: 'varchar', length: 64, nullable: true })
  emailCodeHash: string | null;

  @Column({ name: 'email_code_expires_at', type: 'timestamptz', nullable: true })
  emailCodeExpiresAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
