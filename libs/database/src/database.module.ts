import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from './data-source-options';
import { EmbeddedPostgres } from './embedded-postgres';

/** Starts the embedded database when no DATABASE_URL is configured; a no-op otherwise. */
@Injectable()
export class DatabaseEndpoint implements OnApplicationShutdown {
  private embedded: EmbeddedPostgres | null = null;
  url = '';

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async resolve(): Promise<string> {
    if (this.config.database.url) return (this.url = this.config.database.url);
    this.embedded = new EmbeddedPostgres(this.config.database.dataDir);
    return (this.url = await this.embedded.start());
  }

  async onApplicationShutdown(): Promise<void> {
    await this.embedded?.stop();
  }
}

@Global()
@Module({ providers: [DatabaseEndpoint], exports: [DatabaseEndpoint] })
class DatabaseEndpointModule {}

@Global()
@Module({
  imports: [
    DatabaseEndpointModule,
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG, DatabaseEndpoint],
      useFactory: async (config: AppConfig, endpoint: DatabaseEndpoint) => ({
        ...buildDataSourceOptions({
          url: await endpoint.resolve(),
          poolSize: config.database.embedded ? 1 : config.database.poolSize,
          connectTimeoutMs: config.database.connectTimeoutMs,
        }),
        // Migrations run at every start, in both modes; they are idempotent by design.
        migrationsRun: true,
        retryAttempts: 3,
        retryDelay: 1000,
      }),
      dataSourceFactory: async (options) => new DataSource(options!).initialize(),
    }),
  ],
})
export class DatabaseModule {}
