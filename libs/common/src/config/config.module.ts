import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig, loadAppConfig } from './app-config';
import { Env } from './env-parsers';

export const APP_CONFIG = Symbol('APP_CONFIG');

/**
 * The typed configuration as a provider. Config is built from an explicit environment rather
 * than read from process.env inside modules, so that tests can run two instances with
 * different settings in one process.
 */
@Global()
@Module({})
export class AppConfigModule {
  static forRoot(source: AppConfig | Env = process.env): DynamicModule {
    const config = isAppConfig(source) ? source : loadAppConfig(source);
    return {
      module: AppConfigModule,
      providers: [{ provide: APP_CONFIG, useValue: config }],
      exports: [APP_CONFIG],
    };
  }
}

function isAppConfig(value: AppConfig | Env): value is AppConfig {
  return typeof (value as AppConfig).http === 'object' && typeof (value as AppConfig).auth === 'object';
}
