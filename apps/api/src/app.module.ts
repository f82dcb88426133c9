import { DynamicModule, Module, Type } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { DenyByDefaultGuard } from '@app/common/auth';
import { AppConfig, AppConfigModule } from '@app/common/config';
import { AllExceptionsFilter, createValidationPipe, EnvelopeInterceptor, RESPONSE_OBSERVERS } from '@app/common/http';
import { AppLogger, LoggingModule } from '@app/common/logging';
import { MailModule } from '@app/common/mail';
import { MetricsModule } from '@app/common/metrics';
import { RedisModule } from '@app/common/redis';
import { DatabaseModule } from '@app/database';
import { AdminModule } from './admin/admin.module';
import { ApiKeyModule } from './api-key/api-key.module';
import { BridgeModule } from './bridge/bridge.module';
import { AuditLogController } from './audit/audit-log.controller';
import { AuditModule } from './audit/audit.module';
import { HealthModule } from './health/health.module';
import { HousekeepingModule } from './housekeeping/housekeeping.module';
import { MailOutboxModule } from './mail/mail-outbox.module';
import { MetricsHttpModule } from './metrics/metrics-http.module';
import { OAuthModule } from './oauth/oauth.module';
import { OneTimeTokensModule } from './one-time-tokens/one-time-tokens.module';
import { PortalModule } from './portal/portal.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { ReactivateModule } from './reactivate/reactivate.module';
import { ImpersonationAudit } from './retailer/impersonation.guard';
import { RetailerModule } from './retailer/retailer.module';
import { RolesModule } from './roles/roles.module';
import { SessionsModule } from './sessions/sessions.module';
import { SettingsModule } from './settings/settings.module';
import { SsoModule } from './sso/sso.module';
import { TeamModule } from './team/team.module';
import { TokensModule } from './tokens/tokens.module';
import { PasswordsModule } from '@app/common/passwords';

/** The whole service. Built from an explicit config so that tests can start several instances. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig, logger: AppLogger, extraImports: Array<Type | DynamicModule> = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        LoggingModule.forRoot(logger),
        MetricsModule,
        RedisModule,
        MailModule,
        DatabaseModule,
        AuditModule,
        HealthModule,
        HousekeepingModule,
        MetricsHttpModule,
        PasswordsModule,
        MailOutboxModule,
        RateLimitModule,
        OneTimeTokensModule,
        TokensModule,
        SessionsModule,
        RetailerModule,
        ReactivateModule,
        ApiKeyModule,
        RolesModule,
        TeamModule,
        SettingsModule,
        AdminModule,
        PortalModule,
        BridgeModule,
        OAuthModule,
        SsoModule,
        ...extraImports,
      ],
      controllers: [AuditLogController],
      providers: [
        // Runs before every module's own guard: no route is reachable without a declared policy.
        { provide: APP_GUARD, useClass: DenyByDefaultGuard },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_INTERCEPTOR, useClass: EnvelopeInterceptor },
        { provide: RESPONSE_OBSERVERS, useFactory: (impersonations: ImpersonationAudit) => [impersonations], inject: [ImpersonationAudit] },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    };
  }
}
