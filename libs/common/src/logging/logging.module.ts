import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppLogger } from './logger';

export const APP_LOGGER = Symbol('APP_LOGGER');

@Global()
@Module({})
export class LoggingModule {
  /** The instance's logger is made before Nest starts, so that Nest's own start-up lines are JSON too. */
  static forRoot(logger: AppLogger): DynamicModule {
    return { module: LoggingModule, providers: [{ provide: APP_LOGGER, useValue: logger }], exports: [APP_LOGGER] };
  }
}
