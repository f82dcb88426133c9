import { Admin } from './admin.entity';
import { ApiKey } from './api-key.entity';
import { AuditLog } from './audit-log.entity';
import { BackupCode } from './backup-code.entity';
import { Impersonation } from './impersonation.entity';
import { MailOutbox } from './mail-outbox.entity';
import { MfaChallenge } from './mfa-challenge.entity';
import { OAuthConnection } from './oauth-connection.entity';
import { OAuthWebhookEvent } from './oauth-webhook-event.entity';
import { OneTimeToken } from './one-time-token.entity';
import { Retailer } from './retailer.entity';
import { Role } from './role.entity';
import { RevokedToken } from './revoked-token.entity';
import { Session } from './session.entity';
import { SsoDomain } from './sso-domain.entity';
import { User } from './user.entity';

export { Admin, ApiKey, AuditLog, BackupCode, Impersonation, MailOutbox, MfaChallenge, OAuthConnection, OAuthWebhookEvent, OneTimeToken, Retailer, RevokedToken, Role, Session, SsoDomain, User };
export type { AdminStatus } from './admin.entity';
export type { ApiKeyType } from './api-key.entity';
export type { AuditActorType, AuditStatus } from './audit-log.entity';
export type { MailStatus } from './mail-outbox.entity';
export type { OAuthConnectionStatus, OAuthProvider } from './oauth-connection.entity';
export type { OneTimeTokenPurpose } from './one-time-token.entity';
export type { RetailerStatus } from './retailer.entity';
export type { SessionAuthMethod } from './session.entity';
export type { UserStatus } from './user.entity';

/** Every entity of the service; the data source and the TypeORM CLI both use this list. */
export const ENTITIES = [Retailer, User, ApiKey, AuditLog, Session, RevokedToken, OneTimeToken, MailOutbox, BackupCode, MfaChallenge, Role, Admin, Impersonation, OAuthConnection, OAuthWebhookEvent, SsoDomain];
