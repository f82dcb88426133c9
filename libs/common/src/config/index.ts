export * from './app-config';
export * from './config.module';
export * from './env-parsers';
export * from './dev-secrets';
