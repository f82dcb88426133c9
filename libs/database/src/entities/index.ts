import { ApiKey } from './api-key.entity';
import { AuditLog } from './audit-log.entity';
import { Retailer } from './retailer.entity';
import { User } from './user.entity';

export { ApiKey, AuditLog, Retailer, User };
export type { ApiKeyType } from './api-key.entity';
export type { AuditActorType, AuditStatus } from './audit-log.entity';
export type { RetailerStatus } from './retailer.entity';
export type { UserStatus } from './user.entity';

/** Every entity of the service; the data source and the TypeORM CLI both use this list. */
export const ENTITIES = [Retailer, User, ApiKey, AuditLog];
