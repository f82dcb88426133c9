import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { Retailer } from './retailer.entity';

/**
 * A retailer's custom role. Members name it in `users.role` (by name, as the contract says);
 * names are unique per retailer and never one of the predefined roles (checked by RolesService).
 */
@Entity({ name: 'roles' })
@Index('uq_roles_retailer_name', ['retailerId', 'name'], { unique: true })
export class Role {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'retailer_id', type: 'uuid' })
  retailerId: string;

  @ManyToOne(() => Retailer, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'retailer_id', foreignKeyConstraintName: 'FK_roles_retailer' })
  retailer?: Retailer;

  @Column({ type: 'varchar', length: 64 })
  name: string;

  /** `{resource: [actions]}` of the contract's resources and actions. */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  permissions: Record<string, string[]>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
