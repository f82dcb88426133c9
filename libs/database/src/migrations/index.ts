import { InitialSchema1764140000000 } from './1764140000000-InitialSchema';
import { RetailerSessions1795683669374 } from './1795683669374-RetailerSessions';
import { SecondFactors1795687115153 } from './1795687115153-SecondFactors';
import { TeamRoles1795688357397 } from './1795688357397-TeamRoles';
import { AdminConsole1795692919184 } from './1795692919184-AdminConsole';
import { OAuthConnections1795693417729 } from './1795693417729-OAuthConnections';
import { SsoAndMailboxes1795702060542 } from './1795702060542-SsoAndMailboxes';
import { SsoDomainVerification1795710262799 } from './1795710262799-SsoDomainVerification';

/** Every migration, in order. New migrations are appended here (and generated into this folder). */
export const MIGRATIONS = [InitialSchema1764140000000, RetailerSessions1795683669374, SecondFactors1795687115153, TeamRoles1795688357397, AdminConsole1795692919184, OAuthConnections1795693417729, SsoAndMailboxes1795702060542, SsoDomainVerification1795710262799];
