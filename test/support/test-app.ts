import type { DynamicModule, Type } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig, Env, loadAppConfig } from '@app/common/config';
import { createApp } from '../../apps/api/src/bootstrap/create-app';
import { LogCapture } from './log-capture';

/** Fixed secrets for tests: each token type its own, all at least 32 bytes. */
export const TEST_SECRETS: Env = {
  RETAILER_JWT_PRIVATE_KEY: 'test-retailer-secret-0123456789abcdef0123',
  ADMIN_JWT_PRIVATE_KEY: 'test-admin-secret-0123456789abcdef0123456',
  PORTAL_JWT_PRIVATE_KEY: 'test-portal-secret-0123456789abcdef012345',
  BRIDGE_JWT_PRIVATE_KEY: 'test-bridge-secret-0123456789abcdef012345',
  REACTIVATE_JWT_PRIVATE_KEY: 'test-reactivate-secret-0123456789abcdef01',
  APP_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
};

export const hasRedis = (): boolean => Boolean(process.env.E2E_REDIS_URL);
export const onRealPostgres = (): boolean => process.env.E2E_DATABASE_KIND === 'postgres';

/** Env for a test that measures a rate limit: its own Redis key prefix, so no other test's counts leak in. */
export function isolatedLimits(env: Env): Env {
  return { REDIS_KEY_PREFIX: `auth-e2e:${process.env.E2E_RUN_ID}:${Math.random().toString(36).slice(2, 10)}:`, ...env };
}

export interface TestInstance {
  app: NestFastifyApplication;
  config: AppConfig;
  logs: LogCapture;
  /** Base URL of the listening instance, e.g. http://127.0.0.1:41234 */
  url: string;
  http: ReturnType<NestFastifyApplication['getHttpServer']>;
  close(): Promise<void>;
}

export interface InstanceOptions {
  env?: Env;
  /** Test-only modules (probe controllers) added to the real AppModule. */
  imports?: Array<Type | DynamicModule>;
  /** Use Redis when the run has one (default true). */
  redis?: boolean;
}

/**
 * Starts one instance of the service, exactly as main.ts does, against the run's database and
 * Redis, listening on a free loopback port. Two calls give two instances sharing both stores.
 */
export async function startInstance(options: InstanceOptions = {}): Promise<TestInstance> {
  const useRedis = options.redis ?? true;
  const env: Env = {
    NODE_ENV: 'test',
    DATABASE_URL: process.env.E2E_DATABASE_URL,
    DATABASE_POOL_SIZE: process.env.E2E_DATABASE_KIND === 'embedded' ? '1' : '5',
    REDIS_URL: useRedis ? process.env.E2E_REDIS_URL : undefined,
    REDIS_KEY_PREFIX: `auth-e2e:${process.env.E2E_RUN_ID}:`,
    BCRYPT_COST: '4',
    COOKIE_SECURE: 'false',
    LOG_LEVEL: 'info',
    PUBLIC_BASE_URL: 'http://dashboard.test',
    // Every test request comes from 127.0.0.1 and the run shares one Redis prefix: per-IP limits
    // are opened wide here, and a test of a limit sets it low under a prefix of its own
    // (isolatedLimits()).
    ...Object.fromEntries(
      ['LOGIN_IP', 'REGISTER_IP', 'FORGOT_IP', 'FORGOT_EMAIL', 'MAGIC_LINK_IP', 'MAGIC_LINK_EMAIL', 'MFA_IP', 'OTP_SEND_EMAIL', 'PORTAL_EXCHANGE_IP', 'OAUTH_INSTALL_IP', 'SSO_START_IP'].map((n) => [
        `RATE_LIMIT_${n}`,
        '100000/1m',
      ]),
    ),
    ...TEST_SECRETS,
    ...options.env,
  };
  const config = loadAppConfig(env);
  const logs = new LogCapture(config.log.level);
  const app = await createApp(config, logs.logger, options.imports ?? []);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return {
    app,
    config,
    logs,
    url: `http://127.0.0.1:${address.port}`,
    http: app.getHttpServer(),
    close: () => app.close(),
  };
}
